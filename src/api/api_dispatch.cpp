#include "api/api_dispatch.hpp"

#include "api/api_route.hpp"
#include "protocol/error_code.hpp"
#include "protocol/json_out.hpp"
#include "ws/frame_writer.hpp"
#include "ws/utf8.hpp"

namespace ringcast::api {

namespace {

using protocol::ControlCall;
using protocol::ControlOp;

constexpr size_t kMaxUserIdBytes = 256;

Action respond(ApiResponse r) {
  Action a;
  a.response = std::move(r);
  return a;
}

Action invalid(std::string_view field, std::string message) {
  return respond(error_response(400, "INVALID_FIELD", message, field));
}

bool utf8_ok(std::string_view s) { return ws::utf8_valid(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

bool has_controls(std::string_view s) {
  for (char c : s)
    if (uint8_t(c) < 0x20 || c == 0x7F) return true;
  return false;
}

// One call per worker (or to the one given), all alike.
Action calls(const DispatchContext& ctx, const ControlCall& proto, int only_worker, std::string subject = {}) {
  Action a;
  a.kind = Action::Kind::call;
  const uint32_t first = only_worker >= 0 ? uint32_t(only_worker) : 0;
  const uint32_t last = only_worker >= 0 ? uint32_t(only_worker) + 1 : ctx.workers;
  for (uint32_t w = first; w < last; ++w) {
    auto c = std::make_unique<ControlCall>(proto);
    c->part = w;
    a.calls.push_back(std::move(c));
  }
  a.gather.emplace(proto.op, uint32_t(a.calls.size()), ctx.workers, std::move(subject));
  return a;
}

// ?tenant_id=: "" or absent = no tenant. False (with *err) if it is bad.
bool query_tenant(std::string_view query, std::string* tenant, Action* err) {
  switch (query_param(query, "tenant_id", tenant)) {
    case QueryValue::absent:
      tenant->clear();
      return true;
    case QueryValue::bad:
      *err = invalid("tenant_id", "tenant_id is not properly percent-encoded");
      return false;
    case QueryValue::ok:
      if (tenant->empty() || valid_tenant(*tenant)) return true;
      *err = invalid("tenant_id", "tenant_id must be 1 to 128 bytes without '|' or control characters");
      return false;
  }
  return false;
}

// ?code=&reason= of a close (DELETE a connection, disconnect a user).
bool query_close(const DispatchContext& ctx, std::string_view query, ControlCall* c, Action* err) {
  c->close_code = ctx.config.close_code;
  std::string v;
  switch (query_param(query, "code", &v)) {
    case QueryValue::absent:
      break;
    case QueryValue::bad:
      *err = invalid("code", "code must be 1000 or 3000 to 4999");
      return false;
    case QueryValue::ok: {
      uint32_t code = 0;
      bool digits = !v.empty() && v.size() <= 5;
      for (char ch : v) {
        digits = digits && ch >= '0' && ch <= '9';
        if (digits) code = code * 10 + uint32_t(ch - '0');
      }
      if (!digits || !(code == 1000 || (code >= 3000 && code <= 4999))) {
        *err = invalid("code", "code must be 1000 or 3000 to 4999");
        return false;
      }
      c->close_code = uint16_t(code);
      break;
    }
  }
  switch (query_param(query, "reason", &c->text)) {
    case QueryValue::absent:
      c->text.clear();
      break;
    case QueryValue::bad:
      *err = invalid("reason", "reason is not properly percent-encoded");
      return false;
    case QueryValue::ok:
      if (c->text.size() > ws::kMaxCloseReason || !utf8_ok(c->text)) {
        *err = invalid("reason", "reason must be valid UTF-8 of at most 123 bytes");
        return false;
      }
      break;
  }
  return true;
}

Action publish(const DispatchContext& ctx, std::string_view body, bool broadcast) {
  Action a;
  FieldError err;
  if (!parse_publish(ctx.parser, body, broadcast, &a.publish, &err)) return respond(err.response());
  a.kind = Action::Kind::publish;
  protocol::JsonOut j(a.response.body);
  if (broadcast) {
    j.raw(R"({"published":true,"count":)").number(a.publish.channels.size()).raw("}");
  } else {
    j.raw(R"({"published":true,"channel":)").str(a.publish.channels.front()).raw("}");
  }
  return a;
}

Action connection(const DispatchContext& ctx, const RouteMatch& m, const http::RequestHead& head,
                  std::string_view body) {
  uint64_t id = 0;
  if (!parse_conn_id(m.param, &id) || conn_reactor(id) >= ctx.workers) {
    std::string shown(m.param.substr(0, 64));
    if (has_controls(shown) || !utf8_ok(shown)) shown = "(unprintable)";
    return respond(error_response(404, "NOT_FOUND", "no connection " + shown));
  }
  ControlCall c;
  c.conn = id;
  switch (m.method) {
    case Method::get:
    case Method::head:
      c.op = ControlOp::info;
      break;
    case Method::post:
      if (!utf8_ok(body)) return invalid("body", "the body is sent as a text frame: it must be valid UTF-8");
      c.op = ControlOp::send;
      c.text.assign(body);
      break;
    default: {
      c.op = ControlOp::close;
      Action err;
      if (!query_close(ctx, head.query, &c, &err)) return err;
      break;
    }
  }
  return calls(ctx, c, int(conn_reactor(id)), std::string(m.param));
}

Action disconnect_user(const DispatchContext& ctx, const RouteMatch& m, const http::RequestHead& head,
                       std::string_view body) {
  ControlCall c;
  c.op = ControlOp::disconnect_user;
  if (!percent_decode(m.param, false, &c.name) || c.name.empty() || c.name.size() > kMaxUserIdBytes ||
      !utf8_ok(c.name) || has_controls(c.name))
    return invalid("user_id", "user_id must be 1 to 256 bytes of UTF-8 text, percent-encoded in the path");
  Action err;
  if (!query_tenant(head.query, &c.tenant, &err)) return err;
  FieldError ferr;
  if (!parse_tenant_body(ctx.parser, body, &c.tenant, &ferr)) return respond(ferr.response());
  if (!query_close(ctx, head.query, &c, &err)) return err;
  return calls(ctx, c, -1);
}

Action channels(const DispatchContext& ctx, const http::RequestHead& head) {
  ControlCall c;
  c.op = ControlOp::channels;
  Action err;
  if (!query_tenant(head.query, &c.tenant, &err)) return err;
  const QueryValue q = query_param(head.query, "prefix", &c.name);
  if (q == QueryValue::absent) c.name.clear();
  if (q == QueryValue::bad || (!c.name.empty() && !protocol::valid_channel(c.name)))
    return invalid("prefix", "prefix must be the start of a channel name (A-Z a-z 0-9 . _ - : / @)");
  return calls(ctx, c, -1);
}

Action presence(const DispatchContext& ctx, const RouteMatch& m, const http::RequestHead& head) {
  ControlCall c;
  c.op = ControlOp::presence;
  if (!percent_decode(m.param, false, &c.name) || !protocol::valid_channel(c.name))
    return invalid("channel", "channel names are 1 to 128 bytes of A-Z a-z 0-9 . _ - : / @");
  Action err;
  if (!query_tenant(head.query, &c.tenant, &err)) return err;
  // Every worker holds a channel's whole presence: ask the first.
  return calls(ctx, c, 0);
}

}  // namespace

Action dispatch(const DispatchContext& ctx, const http::RequestHead& head, std::string_view body) {
  const RouteMatch m = route(head.method, head.path);
  const bool open = m.status != 404 && is_public(m.endpoint);
  if (!open && !ctx.keys.accepts(head)) {
    ApiResponse r = error_response(401, "UNAUTHORIZED", "a valid API key is required (Authorization: Bearer <key>)");
    r.headers = "WWW-Authenticate: Bearer\r\n";
    return respond(std::move(r));
  }
  if (m.status == 404) return respond(error_response(404, "NOT_FOUND", "no such endpoint"));
  if (m.status == 405) {
    ApiResponse r = error_response(405, "METHOD_NOT_ALLOWED", "this endpoint takes " + std::string(m.allow));
    r.headers = "Allow: " + std::string(m.allow) + "\r\n";
    return respond(std::move(r));
  }
  switch (m.endpoint) {
    case Endpoint::healthz:
      return respond(json_response(200, R"({"status":"ok"})"));
    case Endpoint::readyz:
      return respond(ctx.ready ? json_response(200, R"({"ready":true})") : json_response(503, R"({"ready":false})"));
    case Endpoint::metrics: {
      ControlCall c;
      c.op = ControlOp::stats;
      return calls(ctx, c, -1);
    }
    case Endpoint::publish:
      return publish(ctx, body, false);
    case Endpoint::broadcast:
      return publish(ctx, body, true);
    case Endpoint::connection:
      return connection(ctx, m, head, body);
    case Endpoint::disconnect_user:
      return disconnect_user(ctx, m, head, body);
    case Endpoint::channels:
      return channels(ctx, head);
    case Endpoint::presence:
      if (ctx.workers == 0) return respond(Gather::timeout());
      return presence(ctx, m, head);
  }
  return respond(error_response(404, "NOT_FOUND", "no such endpoint"));
}

}  // namespace ringcast::api
