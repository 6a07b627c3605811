// One thread of echo load: closed loop (echo mode), open loop (rate mode and
// the idle mode's probe), WebSocket or raw TCP.
//
// Closed loop: every connection keeps `inflight` messages outstanding; an
// echo coming back sends the next one. Latency = echo time - send time.
//
// Open loop: this worker owns `rate` messages/s. Send k is due at
// start + k / rate and goes to connection k % n, so connection j's m-th send
// is due at start + (m * n + j) / rate whatever happened before. A send that
// cannot go out on time (the connection already has `max_outstanding` echoes
// pending, or its staging buffer is full) waits and goes later; its latency is
// still measured from the time it was due, so a stalled server shows up as
// latency instead of silently lowering the rate (no coordinated omission).
// Sends issued more than `late_ns` after they were due are counted as late.
//
// A message counts in the figures when its send (open loop: due) time falls
// in [measure, end): the warmup is left out, and the echoes of the last
// window's messages are still waited for while draining.
#pragma once

#include "engine_worker.hpp"
#include "payload.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace load {

struct EchoPlan {
  const Target* target = nullptr;
  bool raw = false;
  bool binary = false;
  uint64_t size = 16;
  uint32_t inflight = 1;           // closed loop
  double rate = 0;                 // > 0: open loop, this worker's messages/s
  uint32_t max_outstanding = 1024; // open loop: echoes pending per connection
  uint64_t late_ns = 1'000'000;    // open loop: a send this late is "late"
  uint64_t quota = UINT64_MAX;     // measured messages this worker sends at most
  uint32_t first_conn = 0;         // global index of connection 0
  uint32_t conns = 1;
  uint32_t max_connecting = 256;
  bool spread_sources = false;
  uint64_t setup_timeout_ns = 30'000'000'000;
  uint64_t drain_timeout_ns = 5'000'000'000;
};

struct EchoStats {
  uint64_t sent = 0;          // messages sent, warmup included
  uint64_t echoed = 0;        // echoes received and verified, warmup included
  uint64_t measured = 0;      // echoes inside the window (in the histogram)
  uint64_t measured_sent = 0; // sends inside the window
  uint64_t mismatches = 0;    // echoes that differ from what was sent
  uint64_t unexpected = 0;    // data while nothing was outstanding
  uint64_t lost = 0;          // outstanding when a connection ended
  uint64_t late = 0;          // open loop
  uint64_t max_lag_ns = 0;    // open loop: worst send delay behind schedule
  uint64_t backlog_unsent = 0;  // open loop: due sends never issued (drain ended)
  uint64_t conns_lost = 0;    // connections that ended before the drain
  uint64_t last_echo_ns = 0;
  std::string first_error;

  // Another thread's figures: counts add up, the latest echo and the worst
  // lag win, the first error is kept.
  void add(const EchoStats& o);
};

class EchoWorker final : public EngineWorker {
 public:
  EchoWorker(const EchoPlan& plan, RunControl& rc);
  ~EchoWorker() override;

  // The whole life: set up, count ready, wait for start, run, drain, close.
  void run();

  EchoStats stats;

 private:
  struct ConnEcho;
  enum class Phase { setup, running, draining };

  bool setup();
  void loop();
  void on_open(Conn& c) override;
  void on_message_begin(Conn& c, uint8_t opcode) override;
  void on_data(Conn& c, const uint8_t* p, size_t n, bool last) override;
  void on_writable(Conn& c) override;
  void on_server_close(Conn& c, uint16_t code) override;
  void on_closed(Conn& c, EndKind kind, const char* why) override;
  void complete(Conn& c, bool bad);
  bool enqueue(Conn& c, uint64_t stamp);
  void issue_owed(Conn& c);
  void advance_schedule(uint64_t now);
  bool may_send_closed() const;
  void begin_drain(uint64_t now);
  void maybe_close(Conn& c);
  uint64_t due_time(uint32_t j, uint64_t m) const;

  EchoPlan p_;
  Payload payload_;
  std::vector<ConnEcho> ce_;
  std::unique_ptr<uint64_t[]> stamps_;
  uint32_t ring_cap_ = 0;  // stamps per connection
  Phase phase_ = Phase::setup;
  uint64_t t0_ = 0, measure_ = 0, end_ = UINT64_MAX;
  double period_ns_ = 0;   // open loop
  uint64_t cursor_ = 0;    // open loop: next send index k
  bool schedule_done_ = false;
  Rng rng_;
};

}  // namespace load
