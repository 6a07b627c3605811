#include "protocol/endpoints.hpp"

#include "protocol/router.hpp"

namespace ringcast::protocol {

EndpointTable::EndpointTable(const std::vector<EndpointConfig>& endpoints) {
  endpoints_.reserve(endpoints.size());
  for (const auto& e : endpoints) {
    Endpoint ep{e, {}, e.route_key.empty() ? std::string(default_route_key(e.protocol)) : e.route_key};
    ep.parser.max_message_bytes = e.max_message_bytes;
    ep.parser.expect_masked = true;
    endpoints_.push_back(std::move(ep));
  }
}

int EndpointTable::find(std::string_view path) const {
  // A handful of endpoints: a linear scan beats hashing the path.
  for (size_t i = 0; i < endpoints_.size(); ++i)
    if (endpoints_[i].config.path == path) return int(i);
  return kNotFound;
}

}  // namespace ringcast::protocol
