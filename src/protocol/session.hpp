// What the gateway keeps per connection, beside the reactor's own state.
// Kept small on purpose (idle connections are the common case): nothing here
// owns memory unless a message or a request head straddles receive buffers.
#pragma once

#include <cstdint>
#include <cstdlib>

#include "ws/frame_parser.hpp"

namespace ringcast::protocol {

// Spare bytes kept after a spill's data, so a whole assembled message can
// be parsed in place by readers that load in wide blocks (simdjson).
constexpr size_t kSpillPadding = 64;

// A growable byte buffer that holds nothing when empty.
struct Spill {
  uint8_t* data = nullptr;
  uint32_t size = 0;
  uint32_t capacity = 0;

  bool empty() const { return size == 0; }
  // Appends n bytes; false if memory ran out.
  bool append(const uint8_t* p, size_t n);
  // Drops the first n bytes.
  void drop_front(size_t n);
  void release() {
    std::free(data);
    data = nullptr;
    size = capacity = 0;
  }
};

enum class Phase : uint8_t {
  http,     // reading request heads (upgrade, /healthz)
  open,     // WebSocket frames
  closing,  // close frame sent or received; input is ignored
};

struct Session {
  ws::FrameParser parser;
  Spill pending;      // request-head bytes, or a frame tail the parser left
  Spill message;      // a data message that arrived in pieces
  uint64_t last_rx_ms = 0;
  uint64_t ping_sent_ms = 0;  // 0 = no ping outstanding
  uint32_t head_searched = 0;
  uint16_t endpoint = 0;
  Phase phase = Phase::http;
};

}  // namespace ringcast::protocol
