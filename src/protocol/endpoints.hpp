// The configured endpoints, resolved once for the reactors: path lookup and
// each endpoint's parser settings. Immutable after start, shared read-only.
#pragma once

#include <string_view>
#include <vector>

#include "ringcast/config.hpp"
#include "ws/frame_parser.hpp"

namespace ringcast::protocol {

struct Endpoint {
  EndpointConfig config;
  bool templated = false;  // config.path has {parameters}
  ws::ParserConfig parser;
  std::string route_key;  // routed profiles: config.route_key, or the profile's own
};

// Values of a template path's {tenant_id}, {agent_id} and {channel_id}
// segments (views into the request path; empty when the template has none).
struct PathParams {
  std::string_view tenant, agent, channel;
};

class EndpointTable {
 public:
  static constexpr int kNotFound = -1;
  explicit EndpointTable(const std::vector<EndpointConfig>& endpoints);

  // Index of the endpoint whose path equals `path` exactly, or whose
  // template matches it (each parameter one non-empty segment), or kNotFound.
  int find(std::string_view path, PathParams* params = nullptr) const;
  const Endpoint& operator[](size_t i) const { return endpoints_[i]; }
  size_t size() const { return endpoints_.size(); }

 private:
  std::vector<Endpoint> endpoints_;
};

}  // namespace ringcast::protocol
