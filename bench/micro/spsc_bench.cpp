// SpscQueue micro-benchmarks: the cost of one mesh hop.
//
//  * SingleThread: push+pop on one thread, no sharing; the floor.
//  * Handoff: a producer thread streams items, the benchmark thread drains
//    them, one at a time or in batches (the pop_batch case is what the
//    reactor's drain does); reported as items/s.
//  * PingPong: one item there and back over two queues; the Time column
//    (and the rtt counter) is one round trip, i.e. two one-way hops.
//
// The cross-thread cases spin on both sides, so they need two idle cores;
// on a busy or 2-vCPU machine the figures are noisy, not wrong.
#include "core/spsc_queue.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace {

using ringcast::core::SpscQueue;

// One failed attempt of a spin-wait. Mostly a CPU pause (frees pipeline
// resources for a hyper-thread sibling), but every 1024th call yields: with
// more runnable threads than cores a pure spinner burns its whole time
// slice waiting for a peer that is not running, and the figures measure the
// scheduler instead of the queue.
inline void spin_wait(uint32_t& spins) {
  if ((++spins & 1023) == 0) {
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

void BM_SingleThread_PushPop(benchmark::State& state) {
  SpscQueue<uint64_t> q(static_cast<size_t>(state.range(0)));
  uint64_t i = 0, v = 0;
  for (auto _ : state) {
    q.try_push(i++);
    q.try_pop(v);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SingleThread_PushPop)->Arg(64)->Arg(1024);

// Producer runs for the whole benchmark run; it stops when told, even if
// the queue is full, so the join never waits on the consumer.
class Producer {
 public:
  explicit Producer(SpscQueue<uint64_t>& q)
      : thread_([this, &q] {
          uint64_t i = 0;
          uint32_t spins = 0;
          while (!stop_.load(std::memory_order_relaxed)) {
            if (q.try_push(i)) {
              ++i;
            } else {
              spin_wait(spins);
            }
          }
        }) {}
  ~Producer() {
    stop_.store(true, std::memory_order_relaxed);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// range(0): capacity. One item per iteration.
void BM_Handoff_TryPop(benchmark::State& state) {
  SpscQueue<uint64_t> q(static_cast<size_t>(state.range(0)));
  Producer producer(q);
  uint64_t v = 0;
  uint32_t spins = 0;
  for (auto _ : state) {
    while (!q.try_pop(v)) spin_wait(spins);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Handoff_TryPop)->Arg(64)->Arg(1024)->UseRealTime();

// range(0): capacity, range(1): max batch. One pop_batch per iteration, so
// read items/s, not Time.
void BM_Handoff_PopBatch(benchmark::State& state) {
  SpscQueue<uint64_t> q(static_cast<size_t>(state.range(0)));
  const size_t max = static_cast<size_t>(state.range(1));
  uint64_t buf[256];
  Producer producer(q);
  int64_t items = 0;
  uint32_t spins = 0;
  for (auto _ : state) {
    size_t n;
    while ((n = q.pop_batch(buf, max)) == 0) spin_wait(spins);
    benchmark::DoNotOptimize(buf[n - 1]);
    items += static_cast<int64_t>(n);
  }
  state.SetItemsProcessed(items);
}
BENCHMARK(BM_Handoff_PopBatch)
    ->Args({64, 16})
    ->Args({1024, 16})
    ->Args({1024, 256})
    ->UseRealTime();

// The echo thread bounces every item straight back until it sees stop.
void BM_PingPong_RoundTrip(benchmark::State& state) {
  SpscQueue<uint64_t> there(64), back(64);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    uint64_t v;
    uint32_t spins = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (there.try_pop(v)) {
        while (!back.try_push(v)) spin_wait(spins);
      } else {
        spin_wait(spins);
      }
    }
  });

  uint64_t i = 0, v = 0;
  uint32_t spins = 0;
  for (auto _ : state) {
    there.try_push(i);  // never full: at most one item is in flight
    while (!back.try_pop(v)) spin_wait(spins);
    benchmark::DoNotOptimize(v);
    ++i;
  }
  stop.store(true, std::memory_order_relaxed);
  echo.join();

  if (v + 1 != i) state.SkipWithError("echo lost or reordered an item");
  // Inverted rate = seconds per round trip; printed as e.g. "150n".
  state.counters["rtt"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PingPong_RoundTrip)->UseRealTime();

}  // namespace
