// Counters a worker thread (or process) publishes for the live progress line.
//
// Each has a single writer, the owning worker; the progress printer only
// reads. So an increment is a relaxed load + store, not a locked add: the hot
// loop pays nothing for being watched. alignas(64) keeps two workers' blocks
// off one cache line. Plain standard layout, so a block can also sit in
// shared memory between processes (the idle mode).
#pragma once

#include <atomic>
#include <cstdint>

namespace load {

struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct alignas(64) Live {
  Counter open;        // connections upgraded and not yet closed (a gauge)
  Counter handshakes;  // upgrades completed (raw: TCP connects)
  Counter failures;    // connects, handshakes or connections that failed
  Counter sent;        // mode-defined: messages sent
  Counter done;        // mode-defined: echoes / deliveries / publish acks
  Counter errors;      // mode-defined: mismatches, gaps, error replies
};

}  // namespace load
