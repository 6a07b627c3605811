#include "protocol/endpoints.hpp"

#include <algorithm>

#include "protocol/router.hpp"

namespace ringcast::protocol {

EndpointTable::EndpointTable(const std::vector<EndpointConfig>& endpoints) {
  endpoints_.reserve(endpoints.size());
  for (const auto& e : endpoints) {
    Endpoint ep{e, false, {}, e.route_key.empty() ? std::string(default_route_key(e.protocol)) : e.route_key};
    ep.parser.max_message_bytes = e.max_message_bytes;
    ep.parser.expect_masked = true;
    ep.templated = e.path.find('{') != std::string::npos;
    endpoints_.push_back(std::move(ep));
  }
}

namespace {

bool match_template(std::string_view tmpl, std::string_view path, PathParams* out) {
  PathParams p;
  while (!tmpl.empty()) {
    if (tmpl[0] == '{') {
      const size_t close = tmpl.find('}');
      const std::string_view name = tmpl.substr(1, close - 1);
      const size_t end = std::min(path.find('/'), path.size());
      if (end == 0) return false;
      const std::string_view value = path.substr(0, end);
      if (name == "tenant_id") p.tenant = value;
      else if (name == "agent_id") p.agent = value;
      else p.channel = value;
      tmpl.remove_prefix(close + 1);
      path.remove_prefix(end);
      continue;
    }
    if (path.empty() || path[0] != tmpl[0]) return false;
    tmpl.remove_prefix(1);
    path.remove_prefix(1);
  }
  if (!path.empty()) return false;
  if (out) *out = p;
  return true;
}

}  // namespace

int EndpointTable::find(std::string_view path, PathParams* params) const {
  // A handful of endpoints: a linear scan beats hashing the path.
  for (size_t i = 0; i < endpoints_.size(); ++i)
    if (!endpoints_[i].templated && endpoints_[i].config.path == path) return int(i);
  for (size_t i = 0; i < endpoints_.size(); ++i)
    if (endpoints_[i].templated && match_template(endpoints_[i].config.path, path, params)) return int(i);
  return kNotFound;
}

}  // namespace ringcast::protocol
