// The HTTP phase of a connection: request heads, read until one upgrades to
// WebSocket. Heads are parsed in place when a whole one sits in one receive
// buffer; only a head that straddles buffers is copied (and only up to the
// configured limit, past which the answer is 431).
#include <algorithm>
#include <cstring>
#include <utility>

#include "core/clock.hpp"
#include "http/query.hpp"
#include "http/request_head.hpp"
#include "http/response.hpp"
#include "protocol/gateway.hpp"
#include "protocol/profiles.hpp"
#include "ws/handshake.hpp"

namespace ringcast::protocol {

namespace {

void write_raw(core::Reactor& r, uint32_t slot, std::string_view bytes) {
  uint8_t* p = r.out_reserve(slot, bytes.size());
  if (!p) return;
  std::memcpy(p, bytes.data(), bytes.size());
  r.out_commit(slot, bytes.size());
}

constexpr std::string_view kHealthPath = "/healthz";

}  // namespace

void Gateway::reject(core::Reactor& r, uint32_t slot, std::string_view response) {
  write_raw(r, slot, response);
  r.close(slot, true);
}

void Gateway::handle_http(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  Session& s = sessions_[slot];
  const size_t limit = server_.max_request_head_bytes;
  bool in_spill = !s.pending.empty();
  if (in_spill && !s.pending.append(bytes.data(), bytes.size())) {
    refuse(r, slot, 503);
    return;
  }
  std::span<uint8_t> data = in_spill ? std::span<uint8_t>(s.pending.data, s.pending.size) : bytes;
  size_t searched = in_spill ? s.head_searched : 0;
  for (;;) {
    const std::string_view view(reinterpret_cast<const char*>(data.data()), data.size());
    const size_t end = http::find_head_end(view, searched);
    if (end == 0) {
      if (!http::head_prefix_plausible(view, searched)) {
        refuse(r, slot, 400);
        return;
      }
      if (data.size() > limit) {
        refuse(r, slot, 431);
        return;
      }
      if (!in_spill && !s.pending.append(data.data(), data.size())) {
        refuse(r, slot, 503);
        return;
      }
      s.head_searched = uint32_t(data.size());
      return;
    }
    if (end > limit) {
      refuse(r, slot, 431);
      return;
    }
    if (!answer_head(r, slot, view.substr(0, end))) return;
    s.head_searched = 0;
    if (s.phase == Phase::joining) {
      std::span<uint8_t> rest = data.subspan(end);
      if (in_spill) {
        s.pending.drop_front(end);
      } else if (!rest.empty() && !s.pending.append(rest.data(), rest.size())) {
        r.close(slot, false);
      }
      return;
    }
    if (s.phase == Phase::open) {
      // Frames may follow the upgrade request in the same packet.
      std::span<uint8_t> rest = data.subspan(end);
      if (in_spill) {
        Spill held = std::exchange(s.pending, Spill{});
        if (!rest.empty()) handle_frames(r, slot, rest);
        held.release();
      } else if (!rest.empty()) {
        handle_frames(r, slot, rest);
      }
      return;
    }
    // A keep-alive request was answered; another may follow.
    if (in_spill) {
      s.pending.drop_front(end);
      if (s.pending.empty()) return;
      data = std::span<uint8_t>(s.pending.data, s.pending.size);
    } else {
      data = data.subspan(end);
      if (data.empty()) return;
    }
    searched = 0;
  }
}

bool Gateway::answer_head(core::Reactor& r, uint32_t slot, std::string_view head) {
  http::RequestHead req;
  switch (http::parse_request_head(head, req)) {
    case http::HeadError::none:
      break;
    case http::HeadError::too_many_headers:
      refuse(r, slot, 431);
      return false;
    case http::HeadError::malformed:
      refuse(r, slot, 400);
      return false;
  }
  if (req.path == kHealthPath) {
    const bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
      refuse(r, slot, 405);
      return false;
    }
    if (req.has_body) {
      refuse(r, slot, 400);
      return false;
    }
    write_raw(r, slot, http::health_response(req.keep_alive, head_only));
    if (!req.keep_alive) {
      r.close(slot, true);
      return false;
    }
    r.set_timer(slot, r.now_ms() + server_.handshake_timeout_ms);
    return true;
  }
  PathParams params;
  const int index = endpoints_->find(req.path, &params);
  if (index == EndpointTable::kNotFound) {
    refuse(r, slot, 404);
    return false;
  }
  const Endpoint& ep = (*endpoints_)[size_t(index)];
  ws::HandshakeResult hs = ws::validate_upgrade(req, ep.config.subprotocols);
  if (hs.status != 101) {
    count_refusal(hs.status);
    reject(r, slot, ws::rejection_response(hs));
    return false;
  }
  // Who it is: routed endpoints and authenticated ones keep a ConnMeta.
  std::unique_ptr<ConnMeta> meta;
  if (is_routed(ep.config.protocol) || ep.config.auth == AuthMode::jwt) meta = std::make_unique<ConnMeta>();
  std::string_view token_protocol;
  if (ep.config.auth == AuthMode::jwt) {
    const Refusal no = authenticate(r, req, ep, params, meta.get(), &token_protocol);
    if (no.status != 0) {
      ++stats_.auth_failures;
      count_refusal(no.status);
      reject(r, slot, http::denied_response(no.status, no.reason));
      return false;
    }
  }
  // The channel profile joins the room named in the path or the query before the 101.
  std::string channel;
  bool join = false;
  if (!params.channel.empty()) {
    channel = params.channel;
    join = true;
  } else if (ep.config.protocol == Protocol::channel) {
    switch (http::query_param(req.query, ep.config.channel_param, &channel, kMaxChannelBytes)) {
      case http::QueryValue::absent:
        break;
      case http::QueryValue::bad:
        refuse(r, slot, 400);
        return false;
      case http::QueryValue::ok:
        join = true;
        break;
    }
  }
  if (join) {
    if (!valid_channel(channel)) {
      refuse(r, slot, 400);
      return false;
    }
    if (meta && meta->authenticated && !auth::channel_allowed(meta->identity, channel)) {
      ++stats_.auth_failures;
      count_refusal(403);
      reject(r, slot, http::denied_response(403, "channel not allowed by the token"));
      return false;
    }
  }
  if (meta) {
    if (const http::Header* ua = req.find("User-Agent"))
      meta->user_agent.assign(ua->value.substr(0, kMaxUserAgent));
    meta->connected_at_ms = core::wall_ms();
    if (join) meta->room = channel;
    if (connect_hook_[size_t(index)] >= 0 || disconnect_hook_[size_t(index)] >= 0) {
      // The hooks see the query, minus the token.
      std::string_view q = req.query;
      while (!q.empty()) {
        const size_t amp = q.find('&');
        const std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
        if (ep.config.auth == AuthMode::jwt && pair.substr(0, pair.find('=')) == ep.config.token_param) continue;
        if (!meta->query.empty()) meta->query.push_back('&');
        meta->query.append(pair);
      }
    }
    std::string flag;
    meta->presence_events = ep.config.protocol == Protocol::channel &&
                            http::query_param(req.query, "presence", &flag, 8) == http::QueryValue::ok &&
                            (flag == "true" || flag == "1");
  }
  // A browser that sent its token as a subprotocol must see one chosen.
  if (hs.subprotocol.empty() && !token_protocol.empty()) hs.subprotocol = token_protocol;
  std::string response(ws::kUpgradeResponseMax + hs.subprotocol.size(), '\0');
  response.resize(ws::write_upgrade_response(response.data(), response.size(), hs));
  Session& s = sessions_[slot];
  s.endpoint = uint16_t(index);
  s.meta = meta.release();
  return begin_session(r, slot, std::move(response));
}

void Gateway::refuse(core::Reactor& r, uint32_t slot, int status) {
  count_refusal(status);
  reject(r, slot, http::error_response(status));
}

void Gateway::count_refusal(int status) {
  size_t i = 0;
  while (i + 1 < kCountedHandshakeStatus.size() && kCountedHandshakeStatus[i] != status) ++i;
  ++stats_.handshake_failures[i];
}

bool Gateway::begin_session(core::Reactor& r, uint32_t slot, std::string response) {
  Session& s = sessions_[slot];
  const int hook = connect_hook_[s.endpoint];
  if (hook < 0) return finish_handshake(r, slot, std::move(response), false);
  // The $connect hook decides before anything else happens for it.
  const uint64_t token = next_call_++;
  calls_.emplace(token, Call{r.conn_id(slot), {}, {}, true});
  s.phase = Phase::joining;
  Deferred d{r.conn_id(slot), 0, std::move(response), true};
  d.call = token;
  d.hook = true;
  deferred_.push_back(std::move(d));
  post_hook(r, slot, hook, "connect", token);
  return true;
}

bool Gateway::finish_handshake(core::Reactor& r, uint32_t slot, std::string response, bool held) {
  Session& s = sessions_[slot];
  uint64_t wait = 0;
  const std::string_view room = s.meta ? std::string_view(s.meta->room) : std::string_view();
  // Inboxes and the presence feed first, so that the room's presence
  // event for this very join reaches a watcher, and everything is in
  // effect on every reactor by the time the client reads its 101.
  if ((s.meta && s.meta->authenticated && !subscribe_identity(r, slot, &wait)) ||
      (!room.empty() && !join_channel(r, slot, room, &wait))) {
    refuse(r, slot, 503);
    return false;
  }
  if (wait != 0) {
    // Told "open" only once every reactor routes the room to it.
    s.phase = Phase::joining;
    deferred_.push_back(Deferred{r.conn_id(slot), wait, std::move(response), true});
    deferred_dirty_ = true;
    return true;
  }
  open_session(r, slot, response, held);
  return true;
}

void Gateway::open_session(core::Reactor& r, uint32_t slot, std::string_view response, bool joined) {
  Session& s = sessions_[slot];
  const Endpoint& ep = (*endpoints_)[s.endpoint];
  write_raw(r, slot, response);
  s.phase = Phase::open;
  s.last_rx_ms = r.now_ms();
  ++stats_.connections_accepted;
  ++stats_.connections_open;
  s.opened = true;
  if (s.meta && s.meta->authenticated) enter_identity(r, slot);
  r.set_output_limit(slot, uint32_t(std::min<uint64_t>(ep.config.max_output_bytes, UINT32_MAX)));
  schedule_ping(r, slot);
  profile_open(*this, r, slot, ep.config.protocol);
  if (joined && !s.pending.empty() && s.phase == Phase::open) {
    // Frames that arrived while joining.
    Spill early = std::exchange(s.pending, Spill{});
    handle_frames(r, slot, std::span<uint8_t>(early.data, early.size));
    early.release();
  }
}

}  // namespace ringcast::protocol
