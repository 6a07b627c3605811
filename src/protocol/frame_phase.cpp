// The WebSocket phase of a connection: frames in, whole messages to the
// endpoint's profile. A message that arrives in one piece is handed over
// straight from the receive buffer; only one that spans buffers or fragments
// is assembled in the session. The parser may leave a partial frame header
// (or control frame) unconsumed; that tail is kept and completed with the
// first bytes of the next receive, never with a copy of the whole buffer.
#include <algorithm>
#include <cstring>
#include <utility>

#include "protocol/gateway.hpp"
#include "protocol/profiles.hpp"

namespace ringcast::protocol {

struct Gateway::FrameSink {
  Gateway& gateway;
  core::Reactor& reactor;
  uint32_t slot;

  bool on_data(ws::Opcode op, std::span<const uint8_t> chunk, bool complete) {
    return gateway.on_message_chunk(reactor, slot, op, chunk, complete);
  }
  bool on_control(ws::Opcode op, std::span<const uint8_t> payload) {
    return gateway.on_control(reactor, slot, op, payload);
  }
};

namespace {

std::string_view reason_for(uint16_t code) {
  switch (code) {
    case 1007: return "invalid UTF-8";
    case 1009: return "message too big";
    default: return "protocol error";
  }
}

}  // namespace

void Gateway::handle_frames(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  Session& s = sessions_[slot];
  if (s.phase != Phase::open) return;
  s.last_rx_ms = r.now_ms();
  if (!s.pending.empty()) {
    const size_t old = s.pending.size;
    const size_t take = std::min(bytes.size(), ws::kMaxUnconsumedTail);
    if (!s.pending.append(bytes.data(), take)) {
      fail(r, slot, CloseCode::internal_error, "out of memory");
      return;
    }
    Spill held = std::exchange(s.pending, Spill{});
    size_t consumed = 0;
    const bool go = feed_frames(r, slot, std::span<uint8_t>(held.data, held.size), &consumed);
    if (go && consumed < old) {
      // Still short of a whole header or control frame. Then take was all of
      // bytes (kMaxUnconsumedTail more bytes always complete it), so the
      // held copy is the whole tail.
      held.drop_front(consumed);
      sessions_[slot].pending = held;
      return;
    }
    held.release();
    if (!go) return;
    bytes = bytes.subspan(consumed - old);
  }
  size_t consumed = 0;
  if (!feed_frames(r, slot, bytes, &consumed)) return;
  if (consumed < bytes.size() && !s.pending.append(bytes.data() + consumed, bytes.size() - consumed)) {
    fail(r, slot, CloseCode::internal_error, "out of memory");
  }
}

bool Gateway::feed_frames(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes, size_t* consumed) {
  Session& s = sessions_[slot];
  FrameSink sink{*this, r, slot};
  const ws::ParseResult res = s.parser.feed(bytes, sink, (*endpoints_)[s.endpoint].parser);
  *consumed = res.consumed;
  switch (res.status) {
    case ws::ParseStatus::ok:
      return s.phase == Phase::open;
    case ws::ParseStatus::error:
      fail(r, slot, CloseCode(res.close_code), reason_for(res.close_code));
      return false;
    case ws::ParseStatus::stopped:
    case ws::ParseStatus::closed:
      return false;
  }
  return false;
}

bool Gateway::on_message_chunk(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> chunk,
                               bool complete) {
  Session& s = sessions_[slot];
  if (complete && s.message.empty()) {
    // The whole message (earlier fragments, if any, were empty).
    deliver_message(r, slot, op, chunk);
    return s.phase == Phase::open;
  }
  if (!s.message.append(chunk.data(), chunk.size())) {
    fail(r, slot, CloseCode::internal_error, "out of memory");
    return false;
  }
  if (!complete) return true;
  Spill whole = std::exchange(s.message, Spill{});
  deliver_message(r, slot, op, std::span<const uint8_t>(whole.data, whole.size));
  whole.release();
  return sessions_[slot].phase == Phase::open;
}

bool Gateway::on_control(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> payload) {
  Session& s = sessions_[slot];
  switch (op) {
    case ws::Opcode::ping:
      return send_frame(r, slot, ws::Opcode::pong, payload);
    case ws::Opcode::pong:
      s.ping_sent_ms = 0;
      schedule_ping(r, slot);
      return true;
    case ws::Opcode::close: {
      // Answer with the peer's code (RFC 6455 5.5.1); a close without one
      // gets an empty close back. The parser validated the code already.
      const size_t n = payload.size() >= 2 ? 2 : 0;
      s.close_code = n ? uint16_t(payload[0] << 8 | payload[1]) : 1005;
      send_frame(r, slot, ws::Opcode::close, payload.first(n));
      r.close(slot, true);
      return false;
    }
    default:
      return true;
  }
}

void Gateway::deliver_message(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> message) {
  const Protocol p = (*endpoints_)[sessions_[slot].endpoint].config.protocol;
  ++stats_.messages_in;
  stats_.bytes_in += message.size();
  if (is_routed(p)) {
    routed_message(r, slot, op, message);
  } else {
    profile_message(*this, r, slot, p, op, message);
  }
}

}  // namespace ringcast::protocol
