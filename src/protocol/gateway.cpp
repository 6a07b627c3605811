#include "protocol/gateway.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "http/response.hpp"
#include "ringcast/close_code.hpp"
#include "ws/frame_writer.hpp"

namespace ringcast::protocol {

namespace {

// Mesh messages of this layer that were never received (teardown).
void discard_mesh(const core::MeshMessage& m) {
  if (m.kind == kPresenceDelta) static_cast<pubsub::PresenceDelta*>(m.ptr)->release();
  if (m.kind == kControlCall || m.kind == kControlAnswer) delete static_cast<ControlCall*>(m.ptr);
}

}  // namespace

Gateway::Gateway(const ServerConfig& server, std::shared_ptr<const EndpointTable> endpoints,
                 std::shared_ptr<const HandlerRegistry> handlers, core::Mesh* mesh, uint32_t reactor_index,
                 uint32_t workers, std::shared_ptr<const AuthKeysSlot> auth)
    : server_(server),
      endpoints_(std::move(endpoints)),
      handlers_(std::move(handlers)),
      sessions_(server.max_connections + core::kSpareSlots),
      broker_(mesh, reactor_index, *this),
      upstream_(*this),
      auth_(std::move(auth)),
      workers_(workers) {
  broker_.set_receiver(this, discard_mesh);
  // One handler object per name per reactor; routes point at them. Names
  // were checked against the registry before the reactors started.
  std::map<std::string, Handler*, std::less<>> made;
  uint32_t max_envelope = 0;
  for (size_t i = 0; i < endpoints_->size(); ++i) {
    const EndpointConfig& cfg = (*endpoints_)[i].config;
    Router router;
    if (is_routed(cfg.protocol)) {
      max_envelope = std::max(max_envelope, cfg.max_envelope_bytes);
      std::vector<RouteConfig> routes = default_routes(cfg.protocol);
      routes.insert(routes.end(), cfg.routes.begin(), cfg.routes.end());
      for (const RouteConfig& rc : routes) {
        if (!rc.upstream.empty()) {
          // URLs were resolved and checked once before the reactors started.
          std::string ignored;
          const int target =
              upstream_.add_target(UpstreamTarget{rc.upstream, rc.upstream_timeout_ms, rc.upstream_concurrency}, &ignored);
          router.add(Route{rc.name, nullptr, rc.required, target});
          continue;
        }
        auto it = made.find(rc.handler);
        if (it == made.end()) {
          auto f = handlers_->find(rc.handler);
          if (f == handlers_->end()) continue;
          handler_objects_.push_back(f->second());
          it = made.emplace(rc.handler, handler_objects_.back().get()).first;
        }
        router.add(Route{rc.name, it->second, rc.required});
      }
    }
    routers_.push_back(std::move(router));
    std::string ignored;
    auto hook = [&](const std::string& url) {
      return url.empty() ? -1 : upstream_.add_target(UpstreamTarget{url, cfg.hook_timeout_ms, 64}, &ignored);
    };
    connect_hook_.push_back(hook(cfg.connect_upstream));
    disconnect_hook_.push_back(hook(cfg.disconnect_upstream));
  }
  // Sized once for the largest message any endpoint parses: no allocation
  // per message.
  // (If this fails, parse() tries again and reports the failure per message.)
  if (max_envelope && parser_.allocate(max_envelope) != simdjson::SUCCESS) max_envelope = 0;
  scratch_[0].reserve(4096);
  scratch_[1].reserve(4096);
  compose_.reserve(4096);
}

Gateway::~Gateway() {
  for (Session& s : sessions_) delete s.meta;
}

void Gateway::on_open(core::Reactor& r, uint32_t slot) {
  Session& s = sessions_[slot];
  delete s.meta;  // (freed at close already; a reused slot starts clean)
  s = Session{};
  s.last_rx_ms = r.now_ms();
  // Slowloris guard: the whole HTTP phase must finish by this deadline.
  r.set_timer(slot, r.now_ms() + server_.handshake_timeout_ms);
}

void Gateway::on_reject(core::Reactor& r, uint32_t slot) {
  delete sessions_[slot].meta;
  sessions_[slot] = Session{};
  refuse(r, slot, 503);
}

void Gateway::on_connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag) {
  upstream_.on_connected(r, slot, res, tag);
}

void Gateway::on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  if (r.is_outbound(slot)) {
    upstream_.on_data(r, slot, bytes);
    return;
  }
  switch (sessions_[slot].phase) {
    case Phase::http:
      handle_http(r, slot, bytes);
      break;
    case Phase::open:
      handle_frames(r, slot, bytes);
      break;
    case Phase::joining:
      // A client that did not wait for the 101: keep its frames (bounded)
      // for when the upgrade completes.
      if (sessions_[slot].pending.size + bytes.size() > kMaxEarlyFrameBytes ||
          !sessions_[slot].pending.append(bytes.data(), bytes.size())) {
        r.close(slot, false);
      }
      break;
    case Phase::closing:
      break;
  }
}

void Gateway::on_close(core::Reactor& r, uint32_t slot) {
  if (r.is_outbound(slot)) {
    upstream_.on_close(r, slot);
    return;
  }
  // Every close goes through here (Reactor::close calls it first), so this is
  // where the session stops taking input. The parser may still be on the
  // stack (close from inside a sink): leave it alone; on_open resets the
  // whole session for the slot's next user.
  Session& s = sessions_[slot];
  if (s.opened && disconnect_hook_[s.endpoint] >= 0) {
    const uint64_t token = next_call_++;
    calls_.emplace(token, Call{r.conn_id(slot), {}, {}, true});
    post_hook(r, slot, disconnect_hook_[s.endpoint], "disconnect", token);
  }
  if (s.opened) {
    s.opened = false;
    --stats_.connections_open;
    const uint16_t code = s.close_code ? s.close_code : 1006;
    size_t i = 0;
    while (i + 1 < kCountedCloseCodes.size() && kCountedCloseCodes[i] != code) ++i;
    ++stats_.closed_by_code[i];
  }
  s.phase = Phase::closing;
  s.pending.release();
  s.message.release();
  if (s.meta) {
    if (s.meta->authenticated) leave_identity(r, slot);
    delete s.meta;
    s.meta = nullptr;
  }
  broker_.unsubscribe_all(slot);
}

void Gateway::on_turn(core::Reactor& r) {
  broker_.on_turn(r);
  upstream_.on_turn(r);
  // Held replies move only when an ack or an upstream answer came, or one
  // was queued (a barrier may already have passed): not a scan per turn.
  if (!deferred_.empty() && (deferred_dirty_ || broker_.acks_received() != acks_seen_)) {
    deferred_dirty_ = false;
    acks_seen_ = broker_.acks_received();
    release_deferred(r);
  }
  if (!drop_watch_.empty()) check_drop_watch(r);
}

uint64_t Gateway::before_sleep(core::Reactor&, uint64_t wait_ms) {
  // Deferred replies wait for acks that arrive through the mesh, which
  // wakes us; nothing to poll for here.
  return broker_.before_sleep(upstream_.before_sleep(wait_ms));
}

void Gateway::on_timer(core::Reactor& r, uint32_t slot) {
  if (r.is_outbound(slot)) {
    upstream_.on_timer(r, slot);
    return;
  }
  Session& s = sessions_[slot];
  if (s.phase == Phase::http) {
    // A client that sent part of a request gets told; a silent one is dropped.
    if (!s.pending.empty()) {
      refuse(r, slot, 408);
    } else {
      r.close(slot, false);
    }
    return;
  }
  if (s.phase != Phase::open) return;
  const EndpointConfig& cfg = (*endpoints_)[s.endpoint].config;
  const uint64_t now = r.now_ms();
  if (s.meta && s.meta->expires_ms != 0 && now >= s.meta->expires_ms) {
    fail(r, slot, CloseCode::unauthorized, "token expired");
    return;
  }
  if (s.ping_sent_ms != 0) {
    if (s.last_rx_ms >= s.ping_sent_ms) {  // any frame proves the peer alive
      s.ping_sent_ms = 0;
      schedule_ping(r, slot);
      return;
    }
    fail(r, slot, CloseCode::going_away, "ping timeout");
    return;
  }
  // Receiving does not touch the timer (that would cost a wheel update per
  // message); the silence is measured here, when the deadline comes.
  if (cfg.idle_ping_ms == 0 || now - s.last_rx_ms < cfg.idle_ping_ms) {
    schedule_ping(r, slot);
    return;
  }
  send_frame(r, slot, ws::Opcode::ping, {});
  s.ping_sent_ms = now;
  arm_timer(r, slot, now + cfg.pong_timeout_ms);
}

void Gateway::arm_timer(core::Reactor& r, uint32_t slot, uint64_t at_ms) {
  // One deadline per connection: the nearer of the keepalive's and the token's.
  const ConnMeta* m = sessions_[slot].meta;
  if (m && m->expires_ms != 0 && (at_ms == 0 || m->expires_ms < at_ms)) at_ms = m->expires_ms;
  if (at_ms == 0) {
    r.cancel_timer(slot);
    return;
  }
  r.set_timer(slot, at_ms);
}

void Gateway::schedule_ping(core::Reactor& r, uint32_t slot) {
  const EndpointConfig& cfg = (*endpoints_)[sessions_[slot].endpoint].config;
  arm_timer(r, slot, cfg.idle_ping_ms == 0 ? 0 : sessions_[slot].last_rx_ms + cfg.idle_ping_ms);
}

void Gateway::on_stop(core::Reactor& r) {
  upstream_.on_stop(r);
  r.for_each_open([&](uint32_t slot) {
    switch (sessions_[slot].phase) {
      case Phase::open:
        if (is_routed((*endpoints_)[sessions_[slot].endpoint].config.protocol)) send_shutdown_notice(r, slot);
        fail(r, slot, CloseCode::going_away, "server shutting down");
        break;
      case Phase::http:
      case Phase::joining:
        r.close(slot, false);
        break;
      case Phase::closing:
        break;
    }
  });
}

uint8_t* Gateway::begin_frame(core::Reactor& r, uint32_t slot, ws::Opcode op, uint64_t payload_len,
                              size_t* total) {
  const size_t header = ws::frame_header_size(payload_len, false);
  uint8_t* p = r.out_reserve(slot, header + payload_len);
  if (!p) return nullptr;
  if (op == ws::Opcode::text || op == ws::Opcode::binary) {
    ++stats_.messages_out;
    stats_.bytes_out += payload_len;
  }
  ws::write_frame_header(p, op, payload_len);
  *total = header + payload_len;
  return p + header;
}

bool Gateway::send_frame(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> payload) {
  size_t total = 0;
  uint8_t* p = begin_frame(r, slot, op, payload.size(), &total);
  if (!p) {
    // Out of memory for this frame: nothing sane can follow on this connection.
    r.close(slot, false);
    return false;
  }
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  r.out_commit(slot, total);
  return true;
}

void Gateway::fail(core::Reactor& r, uint32_t slot, CloseCode code, std::string_view reason) {
  Session& s = sessions_[slot];
  if (s.phase != Phase::open) return;
  s.close_code = to_wire(code);
  uint8_t payload[125];
  const size_t n = ws::write_close_payload(payload, to_wire(code), reason);
  send_frame(r, slot, ws::Opcode::close, {payload, n});
  r.close(slot, true);
}

}  // namespace ringcast::protocol
