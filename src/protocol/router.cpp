#include "protocol/router.hpp"

namespace ringcast::protocol {

std::vector<RouteConfig> default_routes(Protocol p) {
  switch (p) {
    case Protocol::envelope:
      return {{"subscribe", "subscribe", {}},
              {"unsubscribe", "unsubscribe", {}},
              {"ping", "ping", {}},
              {"publish", "publish", {}},
              {"echo", "echo", {}},
              {"direct", "direct", {}},
              {"presence", "presence", {}},
              {"refresh", "refresh", {}}};
    case Protocol::action:
      return {{"subscribe", "subscribe", {}},
              {"unsubscribe", "unsubscribe", {}},
              {"ping", "ping", {}},
              {"publish", "publish", {}},
              {"direct", "direct", {}},
              {"presence", "presence", {}},
              {"refresh", "refresh", {}}};
    case Protocol::channel:
      return {{"message", "forward", {"id"}},
              {"ping", "ping", {}},
              {"presence", "presence", {}},
              {"refresh", "refresh", {}}};
    case Protocol::echo:
    case Protocol::json_echo:
      break;
  }
  return {};
}

std::string_view default_route_key(Protocol p) { return p == Protocol::action ? "action" : "type"; }

void Router::add(Route route) {
  for (Route& r : routes_) {
    if (r.name == route.name) {
      r = std::move(route);
      return;
    }
  }
  routes_.push_back(std::move(route));
}

const Route* Router::find(std::string_view name) const {
  for (const Route& r : routes_)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace ringcast::protocol
