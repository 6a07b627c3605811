// Routed profiles (envelope, channel, action): a whole text message is
// parsed in place, rate-limited, routed by its route key, checked for its
// route's required fields and handed to the handler. Every failure is an
// error reply in the endpoint's shape; the connection stays open unless the
// client keeps failing (the abuse limit, close 1008).
#include <algorithm>
#include <cstring>

#include "core/clock.hpp"
#include "http/response.hpp"
#include "protocol/gateway.hpp"
#include "protocol/json_out.hpp"
#include "protocol/message_context.hpp"
#include "ws/frame_writer.hpp"

namespace ringcast::protocol {

namespace {

// `{"a":1,"b":2}` -> `"a":1,"b":2` (what a top-level shape splices in).
std::string_view members_of(std::string_view object_json) {
  if (object_json.size() < 2) return {};
  std::string_view inner = object_json.substr(1, object_json.size() - 2);
  while (!inner.empty() && (inner.front() == ' ' || inner.front() == '\n')) inner.remove_prefix(1);
  return inner;
}

void put_request_id(JsonOut& j, const Envelope* env, bool null_if_missing) {
  if (env && env->has_request_id) {
    j.raw(R"(,"request_id":)").element(env->request_id);
  } else if (null_if_missing) {
    j.raw(R"(,"request_id":null)");
  }
}

}  // namespace

void Gateway::routed_message(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> message) {
  Session& s = sessions_[slot];
  const Endpoint& ep = (*endpoints_)[s.endpoint];
  const EndpointConfig& cfg = ep.config;
  if (op != ws::Opcode::text) {
    send_error(r, slot, nullptr, nullptr, ErrorCode::binary_not_supported, "only JSON text messages are accepted here");
    return;
  }
  if (message.size() > cfg.max_envelope_bytes) {
    send_error(r, slot, nullptr, nullptr, ErrorCode::message_too_large,
               "messages are limited to " + std::to_string(cfg.max_envelope_bytes) + " bytes",
               R"({"limit":)" + std::to_string(cfg.max_envelope_bytes) + "}");
    return;
  }
  Envelope env;
  EnvelopeError err;
  const EnvelopeRules rules{ep.route_key, cfg.protocol == Protocol::envelope};
  if (!parse_envelope(parser_, message.data(), message.size(), rules, &env, &err)) {
    const std::string details = err.field.empty() ? std::string() : field_details(err.field, err.expected);
    // The envelope is usable for request_id once the root parsed as an object.
    const bool have_root = err.code != ErrorCode::invalid_json && err.code != ErrorCode::invalid_message;
    send_error(r, slot, have_root ? &env : nullptr, nullptr, err.code, err.message, details);
    return;
  }
  uint64_t retry_ms = 0;
  if (!rate_allows(r, s, cfg, &retry_ms)) {
    ++stats_.rate_limited;
    send_error(r, slot, &env, nullptr, ErrorCode::rate_limited, "too many messages; retry later",
               R"({"retry_after_ms":)" + std::to_string(retry_ms) + "}");
    return;
  }
  const Route* route = routers_[s.endpoint].find(env.route);
  if (!route) route = routers_[s.endpoint].find(kDefaultRoute);
  if (!route) {
    std::string details;
    if (env.route.size() <= 128) JsonOut(details).raw(R"({"route":)").str(env.route).raw("}");
    send_error(r, slot, &env, nullptr, ErrorCode::unknown_type,
               "no route for " + ep.route_key + " \"" +
                   std::string(env.route.substr(0, 128)) + "\"",
               details);
    return;
  }
  for (const std::string& spec : route->required) {
    // "path" or "path:kind" (kind: string, number, boolean, object, array).
    const size_t colon = spec.find(':');
    const std::string_view field = std::string_view(spec).substr(0, colon);
    simdjson::dom::element e;
    if (!find_field(env.root, field, &e)) {
      send_error(r, slot, &env, route, ErrorCode::missing_field, std::string(field) + " is required",
                 field_details(field));
      return;
    }
    if (colon != std::string::npos) {
      const std::string_view kind = std::string_view(spec).substr(colon + 1);
      if (json_kind(e) != kind) {
        send_error(r, slot, &env, route, ErrorCode::invalid_field, kind_mismatch(field, kind, e),
                   field_details(field, kind));
        return;
      }
    }
  }
  const std::string_view text(reinterpret_cast<const char*>(message.data()), message.size());
  if (route->upstream >= 0) {
    forward_upstream(r, slot, env, *route, text);
    return;
  }
  MessageContext ctx(*this, r, slot, env, *route, text);
  route->handler->handle(ctx, ctx);
}

// GCRA (a token bucket kept as one timestamp): each message moves the
// bucket's "theoretical arrival time" one interval later; a message that
// would push it more than the burst ahead of now is refused.
bool Gateway::rate_allows(core::Reactor& r, Session& s, const EndpointConfig& cfg, uint64_t* retry_ms) {
  if (cfg.rate_limit_per_minute == 0) return true;
  const uint64_t interval_us = std::max<uint64_t>(1, 60000000ull / cfg.rate_limit_per_minute);
  const uint64_t burst = cfg.rate_limit_burst ? cfg.rate_limit_burst : cfg.rate_limit_per_minute;
  const uint64_t now_us = r.now_ms() * 1000;
  const uint64_t tat = std::max(s.rate_tat_us, now_us);
  const uint64_t next = tat + interval_us;
  if (next > now_us + burst * interval_us) {
    *retry_ms = (next - (now_us + burst * interval_us) + 999) / 1000;
    if (*retry_ms == 0) *retry_ms = 1;
    return false;
  }
  s.rate_tat_us = next;
  return true;
}

bool Gateway::send_text(core::Reactor& r, uint32_t slot, std::string_view payload) {
  if (sessions_[slot].held != 0) {
    // Replies leave in request order: this one queues behind a held one
    // (deferred entries of one connection leave in order).
    defer_text(r, slot, 0, std::string(payload));
    return true;
  }
  return send_text_now(r, slot, payload);
}

bool Gateway::send_text_now(core::Reactor& r, uint32_t slot, std::string_view payload) {
  return send_frame(r, slot, ws::Opcode::text,
                    std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
}

void Gateway::compose_reply(std::string& out, uint32_t slot, const Envelope* env, std::string_view type,
                            std::string_view fields_json) {
  out.clear();
  JsonOut j(out);
  switch ((*endpoints_)[sessions_[slot].endpoint].config.protocol) {
    case Protocol::envelope:
      j.raw(R"({"type":)").str(type);
      if (!fields_json.empty()) j.raw(R"(,"data":)").raw(fields_json);
      put_request_id(j, env, false);
      j.raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
      break;
    case Protocol::channel: {
      j.raw(R"({"type":)").str(type);
      const std::string_view members = members_of(fields_json);
      if (!members.empty()) j.raw(",").raw(members);
      put_request_id(j, env, false);
      j.raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
      break;
    }
    default: {
      j.raw("{");
      const std::string_view members = members_of(fields_json);
      if (!members.empty()) j.raw(members).raw(",");
      j.raw(R"("type":)").str(type);
      put_request_id(j, env, false);
      j.raw("}");
      break;
    }
  }
}

void Gateway::send_reply(core::Reactor& r, uint32_t slot, const Envelope* env, std::string_view type,
                         std::string_view fields_json) {
  if (sessions_[slot].phase != Phase::open) return;
  compose_reply(compose_, slot, env, type, fields_json);
  send_text(r, slot, compose_);
}

void Gateway::send_error(core::Reactor& r, uint32_t slot, const Envelope* env, const Route* route, ErrorCode code,
                         std::string_view message, std::string_view details_json) {
  send_error(r, slot, env, route, error_name(code), message, details_json, counts_as_abuse(code));
}

void Gateway::send_error(core::Reactor& r, uint32_t slot, const Envelope* env, const Route* route,
                         std::string_view code, std::string_view message, std::string_view details_json,
                         bool abuse) {
  Session& s = sessions_[slot];
  if (s.phase != Phase::open) return;
  const EndpointConfig& cfg = (*endpoints_)[s.endpoint].config;
  compose_.clear();
  JsonOut j(compose_);
  switch (cfg.protocol) {
    case Protocol::envelope:
      j.raw(R"({"type":"error","data":{"error_code":)").str(code).raw(R"(,"message":)").str(message);
      j.raw(R"(,"details":)").raw(details_json.empty() ? std::string_view("{}") : details_json).raw("}");
      put_request_id(j, env, true);
      j.raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
      break;
    case Protocol::channel: {
      j.raw(R"({"type":"ERROR","error":)").str(message).raw(R"(,"error_code":)").str(code);
      if (!details_json.empty()) j.raw(R"(,"details":)").raw(details_json);
      simdjson::dom::element id;
      if (env && env->root["id"].get(id) == simdjson::SUCCESS && id.is_string()) {
        j.raw(R"(,"message_id":)").element(id);
      } else {
        j.raw(R"(,"message_id":null)");
      }
      put_request_id(j, env, false);
      j.raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
      break;
    }
    default: {
      j.raw(R"({"message":)").str(message).raw(R"(,"type":"error","error_code":)").str(code);
      if (!details_json.empty()) j.raw(R"(,"details":)").raw(details_json);
      // Seed 004 answers errors with the request's identifying fields.
      if (env && route) {
        for (const std::string& spec : route->required) {
          const std::string f = spec.substr(0, spec.find(':'));
          simdjson::dom::element e;
          // (Not the shape's own keys, whatever a route requires.)
          if (f == "message" || f == "type" || f == "error_code" || f == "details" || f == "request_id") continue;
          if (f.find('.') == std::string::npos && env->root[f].get(e) == simdjson::SUCCESS && e.is_string())
            j.raw(",").str(f).raw(":").element(e);
        }
      }
      put_request_id(j, env, false);
      j.raw("}");
      break;
    }
  }
  send_text(r, slot, compose_);
  if (!abuse) return;
  const uint64_t now = r.now_ms();
  if (now - s.error_window_start_ms >= cfg.error_window_ms) {
    s.error_window_start_ms = now;
    s.error_count = 0;
  }
  if (++s.error_count > cfg.max_errors) {
    ++stats_.abuse_closes;
    fail(r, slot, CloseCode::policy_violation, "too many invalid messages");
  }
}

bool Gateway::publish_payload(core::Reactor& r, std::string_view channel, std::string_view payload,
                              uint64_t exclude) {
  if (!broker_.has_audience(channel)) return true;  // nobody anywhere: nothing to frame
  const size_t header = ws::frame_header_size(payload.size(), false);
  const size_t total = header + payload.size();
  if (total > UINT32_MAX) return false;
  uint8_t* p = broker_.publish_reserve(r, uint32_t(total));
  if (!p) return false;
  ++stats_.publishes;
  ws::write_frame_header(p, ws::Opcode::text, payload.size());
  std::memcpy(p + header, payload.data(), payload.size());
  broker_.publish_commit(r, channel, uint32_t(total), exclude);
  return true;
}

bool Gateway::publish_typed(core::Reactor& r, std::string_view topic, std::string_view channel,
                            std::string_view type, std::string_view data_json, uint64_t exclude) {
  if (!broker_.has_audience(topic)) return true;
  compose_.clear();
  JsonOut j(compose_);
  j.raw(R"({"type":)").str(type).raw(R"(,"data":)").raw(data_json.empty() ? std::string_view("{}") : data_json);
  j.raw(R"(,"channel":)").str(channel).raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
  return publish_payload(r, topic, compose_, exclude);
}

void Gateway::defer_text(core::Reactor& r, uint32_t slot, uint64_t seq, std::string payload) {
  deferred_.push_back(Deferred{r.conn_id(slot), seq, std::move(payload), false});
  deferred_dirty_ = true;
  ++sessions_[slot].held;
}

void Gateway::release_deferred(core::Reactor& r) {
  // In order per connection: an entry waits for its own condition and for
  // every earlier entry of its connection; other connections' entries pass.
  std::deque<Deferred> waiting = std::move(deferred_);
  deferred_.clear();
  blocked_.clear();
  for (Deferred& d : waiting) {
    const bool behind = std::find(blocked_.begin(), blocked_.end(), d.conn) != blocked_.end();
    if (behind || d.call != 0 || !broker_.barrier_passed(d.seq)) {
      if (!behind) blocked_.push_back(d.conn);
      deferred_.push_back(std::move(d));
      continue;
    }
    uint32_t slot = 0;
    if (!r.owns(d.conn, &slot)) continue;  // closed meanwhile
    Session& s = sessions_[slot];
    if (d.upgrade) {
      if (s.phase != Phase::joining) continue;
      if (d.refuse == 403) {
        count_refusal(403);
        reject(r, slot, http::denied_response(403, "refused by the connect hook"));
      } else if (d.refuse != 0) {
        refuse(r, slot, d.refuse);
      } else if (d.hook) {
        // The $connect hook said yes: now the handshake's own steps.
        finish_handshake(r, slot, std::move(d.bytes), true);
      } else {
        open_session(r, slot, d.bytes, true);
      }
      continue;
    }
    --s.held;
    if (s.phase != Phase::open) continue;
    if (d.texts.empty()) {
      if (!d.bytes.empty()) send_text_now(r, slot, d.bytes);
    } else {
      for (const std::string& t : d.texts) send_text_now(r, slot, t);
    }
  }
}

void Gateway::deliver(core::Reactor& r, uint32_t slot, core::OutBuffer* b, uint32_t offset, uint32_t length) {
  Session& s = sessions_[slot];
  if (s.phase != Phase::open) return;
  const EndpointConfig& cfg = (*endpoints_)[s.endpoint].config;
  if (r.out_bytes(slot) + length > cfg.max_output_bytes) {
    if (cfg.slow_consumer == SlowConsumerPolicy::close) {
      ++stats_.slow_consumer_closes;
      fail(r, slot, CloseCode::policy_violation, "slow consumer");
      return;
    }
    ++stats_.slow_consumer_drops;
    if (s.dropped++ == 0) drop_watch_.push_back(r.conn_id(slot));
    return;
  }
  if (s.dropped != 0) send_drop_notice(r, slot);
  r.out_append_shared(slot, b, offset, length);
  ++stats_.deliveries;
  ++stats_.messages_out;
  stats_.bytes_out += length;
}

void Gateway::send_drop_notice(core::Reactor& r, uint32_t slot) {
  const uint32_t n = sessions_[slot].dropped;
  sessions_[slot].dropped = 0;
  send_error(r, slot, nullptr, nullptr, ErrorCode::messages_dropped,
             std::to_string(n) + " published messages were dropped: the connection did not keep up",
             R"({"dropped":)" + std::to_string(n) + "}");
}

void Gateway::check_drop_watch(core::Reactor& r) {
  // The notice goes out once the queue has drained to half its limit, even
  // if nothing more is published (then it is the last thing the client reads).
  size_t keep = 0;
  for (uint64_t conn : drop_watch_) {
    uint32_t slot = 0;
    if (!r.owns(conn, &slot)) continue;
    Session& s = sessions_[slot];
    if (s.phase != Phase::open || s.dropped == 0) continue;
    if (r.out_bytes(slot) <= (*endpoints_)[s.endpoint].config.max_output_bytes / 2) {
      send_drop_notice(r, slot);
      continue;
    }
    drop_watch_[keep++] = conn;
  }
  drop_watch_.resize(keep);
}

void Gateway::send_shutdown_notice(core::Reactor& r, uint32_t slot) {
  std::string& fields = scratch_[1];
  fields.clear();
  JsonOut(fields)
      .raw(R"({"reason":)")
      .str(server_.shutdown_reason)
      .raw(R"(,"reconnect_delay_ms":)")
      .number(server_.reconnect_delay_ms)
      .raw("}");
  if (sessions_[slot].phase != Phase::open) return;
  // Straight out, even past held replies: the connection is about to close.
  compose_reply(compose_, slot, nullptr, "disconnecting", fields);
  send_text_now(r, slot, compose_);
}

}  // namespace ringcast::protocol
