// Routing: a routed endpoint's table from route values ("subscribe",
// "message", ...) to handlers and the fields each route requires. Built per
// reactor at start from the config and the handler registry; read-only after.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ringcast/config.hpp"
#include "ringcast/handler.hpp"

namespace ringcast::protocol {

// Handler names -> factories: the built-ins plus Server::add_handler's.
using HandlerRegistry = std::map<std::string, HandlerFactory, std::less<>>;

// The built-in handlers: subscribe, unsubscribe, ping, publish, echo, and
// the channel profile's forward.
void register_builtin_handlers(HandlerRegistry& registry);

// The routes a profile has before the config adds its own.
std::vector<RouteConfig> default_routes(Protocol p);
// The field a profile routes by when the config names none.
std::string_view default_route_key(Protocol p);

struct Route {
  std::string name;
  Handler* handler = nullptr;  // null for an upstream route
  std::vector<std::string> required;
  int upstream = -1;           // the reactor's UpstreamPool target, or -1
};

// The route that takes every message no other route matched.
constexpr std::string_view kDefaultRoute = "$default";

class Router {
 public:
  // Adds a route, replacing one of the same name.
  void add(Route route);
  // A handful of routes per endpoint: a linear scan over short strings.
  const Route* find(std::string_view name) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace ringcast::protocol
