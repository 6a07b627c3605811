#include "open_all.hpp"

namespace load {

bool open_all(Engine& engine, uint32_t n, const SetupTally& tally, const RunControl& rc, uint64_t deadline_ns,
              std::string& error, const std::function<std::string()>& timed_out) {
  uint32_t next = 0;
  while (tally.ready + tally.failed < n) {
    while (next < n && engine.can_start()) engine.start(next++);
    if (!engine.poll(10'000'000)) break;
    if (tally.failed || rc.setup_failed.load(std::memory_order_relaxed) || interrupts()) break;
    if (now_ns() > deadline_ns) {
      error = timed_out();
      return false;
    }
  }
  if (tally.ready == n) return true;
  if (error.empty())
    error = !engine.stats.first_error.empty() ? engine.stats.first_error
            : interrupts()                    ? "interrupted"
                                              : "another thread failed its setup";
  return false;
}

}  // namespace load
