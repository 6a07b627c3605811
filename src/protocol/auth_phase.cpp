// Authentication at upgrade: the token from the sources the endpoint
// accepts, verified with the current keys, then matched against what the
// request asks for (template path parameters, the channel to join). A
// refusal is 401 (no usable token) or 403 (a valid token not allowed here),
// with a short reason that says nothing about the keys.
#include <algorithm>

#include "core/clock.hpp"
#include "http/query.hpp"
#include "protocol/gateway.hpp"

namespace ringcast::protocol {

namespace {

constexpr std::string_view kBearer = "Bearer ";

// "Bearer <token>", the scheme compared without case (RFC 9110 11.1).
bool bearer_token(const http::RequestHead& req, std::string_view* out) {
  const http::Header* h = req.find("Authorization");
  if (!h || h->value.size() <= kBearer.size() || !http::iequals(h->value.substr(0, kBearer.size()), kBearer))
    return false;
  std::string_view t = h->value.substr(kBearer.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  *out = t;
  return !t.empty();
}

}  // namespace

Refusal Gateway::authenticate(core::Reactor& r, const http::RequestHead& req, const Endpoint& ep,
                              const PathParams& params, ConnMeta* meta, std::string_view* token_protocol) {
  const EndpointConfig& cfg = ep.config;
  const std::shared_ptr<const AuthKeys> keys = auth_ ? auth_->get() : nullptr;
  if (!keys || !keys->verifier) return {401, "no token is accepted here"};
  const size_t cap = keys->config.max_token_bytes;
  std::string_view token;
  bool found = false;
  if (cfg.token_sources & kTokenQuery) {
    switch (http::query_param(req.query, cfg.token_param, &token_buf_, cap)) {
      case http::QueryValue::ok:
        token = token_buf_;
        found = true;
        break;
      case http::QueryValue::bad:
        // Too long, or a broken escape: either way not a token we verify.
        return {401, token_buf_.size() >= cap ? "token too large" : "malformed token"};
      case http::QueryValue::absent:
        break;
    }
  }
  if (!found && (cfg.token_sources & kTokenHeader)) found = bearer_token(req, &token);
  if (!found && (cfg.token_sources & kTokenProtocol)) {
    req.for_each_token("Sec-WebSocket-Protocol", [&](std::string_view entry) {
      if (entry.size() <= cfg.token_protocol_prefix.size() || !entry.starts_with(cfg.token_protocol_prefix))
        return true;
      token = entry.substr(cfg.token_protocol_prefix.size());
      *token_protocol = entry;
      found = true;
      return false;
    });
  }
  if (!found || token.empty()) return {401, "token required"};
  const uint64_t wall = core::wall_ms();
  const auth::AuthError err = keys->verifier->verify(token, int64_t(wall / 1000), &meta->identity);
  if (err != auth::AuthError::none) return {401, auth::reason(err)};
  const auth::Identity& id = meta->identity;
  if (!params.tenant.empty() && params.tenant != id.tenant_id) return {403, "tenant does not match the token"};
  if (!params.agent.empty() && params.agent != id.agent_id) return {403, "agent does not match the token"};
  if (!id.tenant_id.empty() && !valid_channel(id.tenant_id)) return {403, "tenant_id is not a valid name"};
  meta->authenticated = true;
  meta->expires_ms = token_deadline_ms(id.exp, keys->config.leeway_s, r.now_ms(), wall);
  return {};
}

}  // namespace ringcast::protocol
