// Route forwarding (docs/API.md, "Upstreams"): a routed message whose route
// names an upstream is POSTed to it as {connection_id, identity, request_id,
// route, endpoint, message}; the answer comes back to the client in order
// with the connection's other replies. 200 with an object (or an array of
// them) is sent, stamped with the request's request_id; 202/204/empty send
// nothing now (the backend answers later through the server API); anything
// else becomes UPSTREAM_UNAVAILABLE / UPSTREAM_TIMEOUT / UPSTREAM_ERROR and
// the connection stays open. The $connect/$disconnect hooks use the same pool.
#include "core/clock.hpp"
#include "protocol/conn_info.hpp"
#include "protocol/gateway.hpp"
#include "protocol/json_out.hpp"

namespace ringcast::protocol {

Gateway::Deferred* Gateway::find_call(uint64_t token) {
  // (Only when an answer came: the entry is about to become ready.)
  for (Deferred& d : deferred_) {
    if (d.call == token) {
      deferred_dirty_ = true;
      return &d;
    }
  }
  return nullptr;
}

void Gateway::forward_upstream(core::Reactor& r, uint32_t slot, const Envelope& env, const Route& route,
                               std::string_view text) {
  Session& s = sessions_[slot];
  const uint64_t token = next_call_++;
  Call call{r.conn_id(slot), {}, {}, false};
  if (env.has_request_id) JsonOut(call.request_id).element(env.request_id);
  simdjson::dom::element id;
  if (endpoint_of(slot).config.protocol == Protocol::channel && env.root["id"].get(id) == simdjson::SUCCESS &&
      id.is_string())
    JsonOut(call.message_id).element(id);
  char hex[16];
  format_conn_id(call.conn, hex);
  std::string& body = upstream_body_;
  body.clear();
  JsonOut j(body);
  j.raw(R"({"connection_id":)").str(std::string_view(hex, 16)).raw(R"(,"identity":)");
  write_identity(j, identity_of(slot));
  j.raw(R"(,"request_id":)").raw(call.request_id.empty() ? std::string_view("null") : call.request_id);
  j.raw(R"(,"route":)").str(route.name).raw(R"(,"endpoint":)").str(endpoint_of(slot).config.path);
  j.raw(R"(,"message":)").raw(text).raw("}");
  calls_.emplace(token, std::move(call));
  // The answer's place among this connection's replies.
  Deferred d{r.conn_id(slot), 0, {}, false};
  d.call = token;
  deferred_.push_back(std::move(d));
  ++s.held;
  ++stats_.upstream_requests;
  upstream_.post(r, route.upstream, token, body);
}

void Gateway::post_hook(core::Reactor& r, uint32_t slot, int target, std::string_view event, uint64_t token) {
  const ConnMeta* m = sessions_[slot].meta;
  char hex[16];
  format_conn_id(r.conn_id(slot), hex);
  char ip[INET6_ADDRSTRLEN] = "";
  format_peer_ip(r.peer(slot), ip, sizeof(ip));
  std::string& body = upstream_body_;
  body.clear();
  JsonOut j(body);
  j.raw(R"({"event":)").str(event).raw(R"(,"connection_id":)").str(std::string_view(hex, 16));
  j.raw(R"(,"identity":)");
  write_identity(j, identity_of(slot));
  j.raw(R"(,"endpoint":)").str(endpoint_of(slot).config.path);
  j.raw(R"(,"query":)").str(m ? std::string_view(m->query) : std::string_view());
  j.raw(R"(,"ip":)").str(ip).raw(R"(,"user_agent":)");
  if (m) j.str(m->user_agent);
  else j.raw("null");
  j.raw("}");
  ++stats_.upstream_requests;
  upstream_.post(r, target, token, body);
}

void Gateway::on_upstream_answer(core::Reactor& r, uint64_t token, int status, std::string_view,
                                 std::string_view body) {
  auto it = calls_.find(token);
  if (it == calls_.end()) return;
  Call call = std::move(it->second);
  calls_.erase(it);
  Deferred* d = find_call(token);
  uint32_t slot = 0;
  const bool ok = status >= 200 && status < 300;
  if (!ok) ++stats_.upstream_failures;
  if (call.hook) {
    if (!d) return;  // $disconnect: nobody waits
    d->call = 0;
    if (!ok) d->refuse = 403;
    return;
  }
  if (!d) return;
  d->call = 0;
  if (!r.owns(call.conn, &slot) || sessions_[slot].phase != Phase::open) return;
  std::string details = R"({"status":)" + std::to_string(status) + "}";
  if (!ok) {
    d->texts.emplace_back();
    upstream_error(d->texts.back(), slot, call.request_id, call.message_id, ErrorCode::upstream_error,
                   "the upstream answered " + std::to_string(status), details);
    return;
  }
  bool blank = true;
  for (char c : body) blank = blank && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
  if (status == 202 || status == 204 || blank) return;  // answered later, through the server API
  simdjson::dom::element root;
  simdjson::dom::array items;
  const bool parsed = parser_.parse(body.data(), body.size(), true).get(root) == simdjson::SUCCESS;
  const bool object = parsed && root.is_object();
  if (!object && !(parsed && root.get_array().get(items) == simdjson::SUCCESS)) {
    ++stats_.upstream_failures;
    d->texts.emplace_back();
    upstream_error(d->texts.back(), slot, call.request_id, call.message_id, ErrorCode::upstream_error,
                   "the upstream's answer is not a JSON object or array", details);
    return;
  }
  const bool envelope = endpoint_of(slot).config.protocol == Protocol::envelope;
  auto add = [&](simdjson::dom::element e) {
    simdjson::dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) return false;
    std::string& out = d->texts.emplace_back();
    JsonOut j(out);
    j.raw("{");
    bool first = true, has_rid = false, has_ts = false;
    for (simdjson::dom::key_value_pair f : o) {
      has_rid = has_rid || f.key == "request_id";
      has_ts = has_ts || f.key == "timestamp";
      if (!first) j.raw(",");
      first = false;
      j.str(f.key).raw(":").element(f.value);
    }
    if (!has_rid && !call.request_id.empty()) {
      if (!first) j.raw(",");
      first = false;
      j.raw(R"("request_id":)").raw(call.request_id);
    }
    if (envelope && !has_ts) {
      if (!first) j.raw(",");
      j.raw(R"("timestamp":)").timestamp(core::wall_ms());
    }
    j.raw("}");
    return true;
  };
  if (object) {
    add(root);
    return;
  }
  for (simdjson::dom::element e : items) {
    if (!add(e)) {
      ++stats_.upstream_failures;
      d->texts.clear();
      d->texts.emplace_back();
      upstream_error(d->texts.back(), slot, call.request_id, call.message_id, ErrorCode::upstream_error,
                     "the upstream's answer holds something other than JSON objects", details);
      return;
    }
  }
}

void Gateway::on_upstream_failure(core::Reactor& r, uint64_t token, UpstreamFailure why) {
  auto it = calls_.find(token);
  if (it == calls_.end()) return;
  Call call = std::move(it->second);
  calls_.erase(it);
  ++stats_.upstream_failures;
  Deferred* d = find_call(token);
  if (!d) return;
  d->call = 0;
  if (call.hook) {
    d->refuse = 503;
    return;
  }
  uint32_t slot = 0;
  if (!r.owns(call.conn, &slot) || sessions_[slot].phase != Phase::open) return;
  d->texts.emplace_back();
  switch (why) {
    case UpstreamFailure::unavailable:
      upstream_error(d->texts.back(), slot, call.request_id, call.message_id, ErrorCode::upstream_unavailable,
                     "the upstream is unavailable", {});
      break;
    case UpstreamFailure::timeout:
      upstream_error(d->texts.back(), slot, call.request_id, call.message_id, ErrorCode::upstream_timeout,
                     "the upstream did not answer in time", {});
      break;
    case UpstreamFailure::error:
      upstream_error(d->texts.back(), slot, call.request_id, call.message_id, ErrorCode::upstream_error,
                     "the upstream's answer could not be read", {});
      break;
  }
}

void Gateway::upstream_error(std::string& out, uint32_t slot, std::string_view rid_json, std::string_view mid_json,
                             ErrorCode code, std::string_view message, std::string_view details) {
  // The profile's error shape (routed_phase.cpp's send_error), from what
  // was kept of the request while the upstream worked.
  out.clear();
  JsonOut j(out);
  const std::string_view name = error_name(code);
  switch (endpoint_of(slot).config.protocol) {
    case Protocol::envelope:
      j.raw(R"({"type":"error","data":{"error_code":)").str(name).raw(R"(,"message":)").str(message);
      j.raw(R"(,"details":)").raw(details.empty() ? std::string_view("{}") : details).raw("}");
      j.raw(R"(,"request_id":)").raw(rid_json.empty() ? std::string_view("null") : rid_json);
      j.raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
      break;
    case Protocol::channel:
      j.raw(R"({"type":"ERROR","error":)").str(message).raw(R"(,"error_code":)").str(name);
      if (!details.empty()) j.raw(R"(,"details":)").raw(details);
      j.raw(R"(,"message_id":)").raw(mid_json.empty() ? std::string_view("null") : mid_json);
      if (!rid_json.empty()) j.raw(R"(,"request_id":)").raw(rid_json);
      j.raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
      break;
    default:
      j.raw(R"({"message":)").str(message).raw(R"(,"type":"error","error_code":)").str(name);
      if (!details.empty()) j.raw(R"(,"details":)").raw(details);
      if (!rid_json.empty()) j.raw(R"(,"request_id":)").raw(rid_json);
      j.raw("}");
      break;
  }
}

}  // namespace ringcast::protocol
