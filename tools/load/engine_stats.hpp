// What one engine reports about its run (engine.hpp): the io_uring setup
// it got and what it counted about its connections; and how the reports of
// a run's engines, one per thread, add up.
#pragma once

#include <cstdint>
#include <string>

namespace load {

struct EngineStats {
  std::string ring_mode;         // the setup flags the kernel accepted; empty until init()
  uint64_t connect_failed = 0;
  uint64_t handshake_failed = 0;
  uint64_t protocol_errors = 0;
  uint64_t dropped = 0;          // open connection lost without a close handshake
  uint64_t server_closes = 0;    // close frames the server started
  uint64_t unclean_closes = 0;
  uint64_t clean_closes = 0;
  uint64_t pings = 0;
  uint64_t pings_unanswered = 0; // staging had no room for another pong
  uint64_t enobufs = 0;          // multishot recv re-armed after the buffer ring ran dry
  uint64_t bytes_out = 0;
  uint64_t bytes_in = 0;
  uint16_t first_server_close = 0;
  std::string first_error;

  // Sums the counters; the first ring mode, close code and error are kept.
  void add(const EngineStats& o) {
    if (ring_mode.empty()) ring_mode = o.ring_mode;
    connect_failed += o.connect_failed;
    handshake_failed += o.handshake_failed;
    protocol_errors += o.protocol_errors;
    dropped += o.dropped;
    server_closes += o.server_closes;
    unclean_closes += o.unclean_closes;
    clean_closes += o.clean_closes;
    pings += o.pings;
    pings_unanswered += o.pings_unanswered;
    enobufs += o.enobufs;
    bytes_out += o.bytes_out;
    bytes_in += o.bytes_in;
    if (!first_server_close) first_server_close = o.first_server_close;
    if (first_error.empty()) first_error = o.first_error;
  }
};

}  // namespace load
