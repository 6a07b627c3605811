// One thread of the idle mode, inside one worker process: open a share of the
// connections, hold them (answering pings), close them cleanly on command.
//
// Everything it reports lives in IdleThreadResult, which the parent process
// placed in shared memory before fork(): the live counters, the connect
// latency histogram and the end counters. Plain data plus lock-free atomics,
// so it works across processes without any copying or pipes.
#pragma once

#include "engine.hpp"
#include "histogram.hpp"
#include "live.hpp"

#include <atomic>
#include <cstdint>

namespace load {

enum IdlePhase : uint32_t { kIdleSetup = 0, kIdleHold = 1, kIdleClose = 2 };

// Shared between the parent and every worker process (MAP_SHARED).
struct IdleControl {
  std::atomic<uint32_t> phase{kIdleSetup};
  std::atomic<uint32_t> threads_ready{0};   // setup over (ok or not)
  std::atomic<uint32_t> threads_done{0};    // closed and reported
};

struct IdleThreadResult {
  Live live;
  Histogram connect_hist;       // connect() -> 101
  uint64_t opened = 0, failed = 0;
  uint64_t dropped_in_hold = 0;   // the server ended an upgraded connection before our close
  uint64_t server_closes = 0;
  uint64_t messages = 0;          // data messages the server sent (greetings...)
  uint64_t pings = 0;
  uint64_t clean_closes = 0, unclean_closes = 0;
  uint64_t protocol_errors = 0;
  uint64_t setup_done_ns = 0;
  char first_error[256] = {};
  char ring_mode[32] = {};
};

struct IdlePlan {
  const Target* target = nullptr;
  uint32_t conns = 0;
  uint32_t first = 0;            // global index of the first connection
  uint32_t max_connecting = 64;
  uint64_t setup_deadline_ns = 0;  // absolute
  uint64_t life_deadline_ns = 0;   // absolute: leave even if never told to close
  uint64_t close_timeout_ns = 3'000'000'000;
};

class IdleWorker final : public EngineHandler {
 public:
  IdleWorker(const IdlePlan& p, IdleControl& ctl, IdleThreadResult& out);
  void run();

 private:
  void on_open(Conn& c) override;
  void on_message_begin(Conn&, uint8_t) override { ++out_.messages; }
  void on_data(Conn&, const uint8_t*, size_t, bool) override {}
  void on_closed(Conn& c, EndKind kind, const char* why) override;
  void note(const char* why);

  IdlePlan p_;
  IdleControl& ctl_;
  IdleThreadResult& out_;
  Engine engine_;
  bool closing_ = false;
};

}  // namespace load
