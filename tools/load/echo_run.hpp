// Runs EchoWorkers on threads and coordinates their phases: used by the echo
// and rate modes, and by the idle mode's probe.
//
// Connections are split over threads in contiguous blocks, and so are the
// open-loop rate and the --messages quota (in proportion to connections).
#pragma once

#include "echo_worker.hpp"
#include "proc_stats.hpp"
#include "target.hpp"

#include <memory>
#include <string>

namespace load {

struct EchoRunSpec {
  Target target;
  bool raw = false, binary = false;
  uint64_t size = 16;
  uint32_t connections = 1;
  unsigned threads = 1;
  uint32_t inflight = 1;
  double rate = 0;               // total; > 0 selects the open loop
  uint32_t max_outstanding = 1024;
  uint64_t late_ns = 1'000'000;
  uint64_t messages = 0;         // 0: no count limit
  double warmup_s = 1, duration_s = 10, drain_s = 5;
  uint32_t max_connecting = 256;
  bool quiet = false;
  pid_t server_pid = 0;
};

struct EchoRunResult {
  bool setup_ok = false;
  std::string setup_error;
  bool interrupted = false;
  EchoStats stats;
  EngineStats engine;
  std::unique_ptr<Histogram> hist = std::make_unique<Histogram>();
  Watch watch;
  double window_s = 0;
  unsigned threads = 0;
  bool spread_sources = false;
};

// Bytes of buffers a run needs (staging, stamps, receive rings).
uint64_t echo_memory_bytes(const EchoRunSpec& s);

EchoRunResult run_echo(const EchoRunSpec& s);

}  // namespace load

namespace load {
// Resolves --url for echo/rate/probe: ws:// for WebSocket, tcp:// (or --raw)
// for plain TCP. Also checks the open-files limit for `connections`.
// Empty string on success.
std::string prepare_echo(const std::string& url, bool allow_remote, EchoRunSpec& s);
}  // namespace load
