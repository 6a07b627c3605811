#include "protocol/gateway.hpp"

#include <cstring>

#include "ringcast/close_code.hpp"
#include "http/response.hpp"
#include "ws/frame_writer.hpp"

namespace ringcast::protocol {

Gateway::Gateway(const ServerConfig& server, std::shared_ptr<const EndpointTable> endpoints)
    : server_(server), endpoints_(std::move(endpoints)), sessions_(server.max_connections + core::kSpareSlots) {}

void Gateway::on_open(core::Reactor& r, uint32_t slot) {
  Session& s = sessions_[slot];
  s = Session{};
  s.last_rx_ms = r.now_ms();
  // Slowloris guard: the whole HTTP phase must finish by this deadline.
  r.set_timer(slot, r.now_ms() + server_.handshake_timeout_ms);
}

void Gateway::on_reject(core::Reactor& r, uint32_t slot) {
  sessions_[slot] = Session{};
  reject(r, slot, http::error_response(503));
}

void Gateway::on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  switch (sessions_[slot].phase) {
    case Phase::http:
      handle_http(r, slot, bytes);
      break;
    case Phase::open:
      handle_frames(r, slot, bytes);
      break;
    case Phase::closing:
      break;
  }
}

void Gateway::on_close(core::Reactor&, uint32_t slot) {
  // Every close goes through here (Reactor::close calls it first), so this is
  // where the session stops taking input. The parser may still be on the
  // stack (close from inside a sink): leave it alone; on_open resets the
  // whole session for the slot's next user.
  Session& s = sessions_[slot];
  s.phase = Phase::closing;
  s.pending.release();
  s.message.release();
}

void Gateway::on_timer(core::Reactor& r, uint32_t slot) {
  Session& s = sessions_[slot];
  if (s.phase == Phase::http) {
    // A client that sent part of a request gets told; a silent one is dropped.
    if (!s.pending.empty()) {
      reject(r, slot, http::error_response(408));
    } else {
      r.close(slot, false);
    }
    return;
  }
  if (s.phase != Phase::open) return;
  const EndpointConfig& cfg = (*endpoints_)[s.endpoint].config;
  const uint64_t now = r.now_ms();
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
  if (now - s.last_rx_ms < cfg.idle_ping_ms) {
    r.set_timer(slot, s.last_rx_ms + cfg.idle_ping_ms);
    return;
  }
  send_frame(r, slot, ws::Opcode::ping, {});
  s.ping_sent_ms = now;
  r.set_timer(slot, now + cfg.pong_timeout_ms);
}

void Gateway::schedule_ping(core::Reactor& r, uint32_t slot) {
  const EndpointConfig& cfg = (*endpoints_)[sessions_[slot].endpoint].config;
  if (cfg.idle_ping_ms == 0) {
    r.cancel_timer(slot);
    return;
  }
  r.set_timer(slot, sessions_[slot].last_rx_ms + cfg.idle_ping_ms);
}

void Gateway::on_stop(core::Reactor& r) {
  r.for_each_open([&](uint32_t slot) {
    switch (sessions_[slot].phase) {
      case Phase::open:
        fail(r, slot, CloseCode::going_away, "server shutting down");
        break;
      case Phase::http:
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
  uint8_t payload[125];
  const size_t n = ws::write_close_payload(payload, to_wire(code), reason);
  send_frame(r, slot, ws::Opcode::close, {payload, n});
  r.close(slot, true);
}

}  // namespace ringcast::protocol
