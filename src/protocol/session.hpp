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

// Frames a client sends before it has the 101 (while its channel
// subscription is being announced) are kept up to this many bytes.
constexpr size_t kMaxEarlyFrameBytes = 65536;

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
  joining,  // upgrade accepted, 101 held until its channel subscription holds everywhere
  open,     // WebSocket frames
  closing,  // close frame sent or received; input is ignored
};

struct ConnMeta;

struct Session {
  ws::FrameParser parser;
  ConnMeta* meta = nullptr;  // upgraded routed or authenticated connections; owned, freed at close
  Spill pending;      // request-head bytes, or a frame tail the parser left
  Spill message;      // a data message that arrived in pieces
  uint64_t last_rx_ms = 0;
  uint64_t ping_sent_ms = 0;  // 0 = no ping outstanding
  uint64_t rate_tat_us = 0;   // rate limit: the bucket's theoretical arrival time
  uint64_t error_window_start_ms = 0;
  uint32_t error_count = 0;   // error replies in the current window
  uint32_t dropped = 0;       // published messages dropped since the last notice
  uint32_t held = 0;          // replies waiting in the gateway's deferred queue
  uint32_t head_searched = 0;
  uint16_t endpoint = 0;
  uint16_t close_code = 0;    // sent or received in a close frame; 0 = none (counted as 1006)
  Phase phase = Phase::http;
  bool opened = false;        // reached Phase::open (counted in connections_open)
};

}  // namespace ringcast::protocol
