// The phases of a run, shared between the main thread and the workers.
//
// Sequence: workers set up (connect + upgrade) and count themselves `ready`;
// main waits for all, then publishes start/measure/end times; workers send
// until `end_ns`, then drain (no new messages; outstanding ones may still
// complete) and close; main sets `stop` when the drain deadline passes, and
// workers abort what is left. SIGINT pulls `end_ns` in to now (a clean early
// finish with a report); a second SIGINT sets `stop`.
#pragma once

#include "clock.hpp"

#include <atomic>
#include <csignal>
#include <cstdint>

namespace load {

struct RunControl {
  std::atomic<uint32_t> ready{0};          // workers whose setup is over
  std::atomic<bool> setup_failed{false};
  std::atomic<uint64_t> start_ns{0};       // 0 until main releases the workers
  std::atomic<uint64_t> measure_ns{0};     // warmup ends
  std::atomic<uint64_t> end_ns{UINT64_MAX};  // no new messages from here on
  std::atomic<bool> stop{false};           // give up on whatever is left
  std::atomic<uint32_t> finished{0};       // workers that have left their loop

  // Blocks a worker until main publishes start_ns (or stop).
  uint64_t wait_start() const {
    uint64_t s;
    while ((s = start_ns.load(std::memory_order_acquire)) == 0) sleep_ns(200'000);
    return s;
  }

  // A worker whose setup is over: counts it ready (and its failure), waits
  // for main's start and then until the start time itself. Returns the start
  // time, or 0 when there is no run (this or another worker failed setup).
  uint64_t enter_run(bool setup_ok) {
    if (!setup_ok) setup_failed.store(true);
    ready.fetch_add(1);
    const uint64_t s = wait_start();
    if (!setup_ok || setup_failed.load()) return 0;
    while (now_ns() < s) sleep_ns(50'000);
    return s;
  }
};

// Process-wide interrupt state (SIGINT/SIGTERM).
void install_signal_handlers();
int interrupts();  // how many signals arrived so far

}  // namespace load
