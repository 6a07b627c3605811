// A bounded, lock-free single-producer/single-consumer queue: one edge of the
// cross-reactor mesh (each ordered pair of reactors owns one). Exactly one
// thread may push and exactly one thread may pop; the two may differ.
//
// Indices are free-running counters (never wrapped; a slot is index & mask),
// so tail - head is the fill level and all `capacity()` slots are usable.
// Each side writes only its own index and keeps a private copy of the other
// side's, re-reading the shared one only when its copy says full/empty. In
// steady state a push touches the producer line and the slot, a pop the
// consumer line and the slot; the index lines bounce only at the edges.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <new>
#include <type_traits>

namespace ringcast::core {

template <class T>
class SpscQueue {
  // Slots are filled by copy and never destroyed, and pop_batch moves them
  // with memcpy-like copies.
  static_assert(std::is_trivially_copyable_v<T>,
                "SpscQueue carries trivially copyable messages only");

 public:
  // Rounds capacity up to a power of two (minimum 1) and allocates once.
  explicit SpscQueue(size_t capacity)
      : mask_(round_up(capacity) - 1), slots_(allocate(mask_ + 1)) {}
  ~SpscQueue() { ::operator delete(slots_, std::align_val_t{kSlotAlign}); }

  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Memory ordering (the only cross-thread edges are these two pairs):
  //  * producer writes slot, then tail_.store(release); consumer
  //    tail_.load(acquire), then reads slot: the item is fully visible
  //    before the consumer can see the index that covers it.
  //  * consumer reads slot, then head_.store(release); producer
  //    head_.load(acquire), then overwrites slot: the consumer's read
  //    happens-before the producer's reuse, so no slot is torn.
  // A side loads its own index relaxed: only it ever writes it. A stale
  // cached copy of the other index is always conservative (it can only
  // under-report items to pop or space to push), so it is safe to use
  // until it says "empty"/"full".

  // Producer only. False when full; never blocks.
  bool try_push(const T& item) noexcept {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    ::new (static_cast<void*>(&slots_[tail & mask_])) T(item);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. False when empty.
  bool try_pop(T& out) noexcept {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    out = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Pops up to max items into out[0..n) and returns n; the
  // whole batch is released to the producer with one store, so a drain
  // costs one index write instead of one per item.
  size_t pop_batch(T* out, size_t max) noexcept {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (tail_cache_ - head < max) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
    }
    const size_t n = std::min(tail_cache_ - head, max);
    if (n == 0) return 0;
    // At most two runs: up to the end of the array, then from its start.
    const size_t first = head & mask_;
    const size_t run = std::min(n, mask_ + 1 - first);
    std::copy_n(slots_ + first, run, out);
    std::copy_n(slots_, n - run, out + run);
    head_.store(head + n, std::memory_order_release);
    return n;
  }

  // Either thread; a hint only, possibly stale by the time it returns.
  bool empty_approx() const noexcept {
    return head_.load(std::memory_order_acquire) ==
           tail_.load(std::memory_order_acquire);
  }

  size_t capacity() const noexcept { return mask_ + 1; }

 private:
  // 64 bytes, not std::hardware_destructive_interference_size: GCC warns
  // that the latter may differ between TUs, and 64 is right for x86/arm64.
  static constexpr size_t kCacheLine = 64;
  static constexpr size_t kSlotAlign = std::max(kCacheLine, alignof(T));

  static size_t round_up(size_t capacity) {
    // bit_ceil is undefined past the top bit; no sane mesh gets near it.
    assert(capacity <= (~size_t{0} >> 1) + 1);
    return std::bit_ceil(std::max<size_t>(capacity, 1));
  }

  // The slot array gets whole cache lines so its ends share no line with
  // unrelated heap data that some other core may be writing.
  static T* allocate(size_t n) {
    const size_t bytes = (n * sizeof(T) + kCacheLine - 1) / kCacheLine * kCacheLine;
    return static_cast<T*>(::operator new(bytes, std::align_val_t{kSlotAlign}));
  }

  // Read-only after construction, so this line stays shared in both caches.
  alignas(kCacheLine) const size_t mask_;
  T* const slots_;

  // Producer line: written by the producer on every push.
  alignas(kCacheLine) std::atomic<size_t> tail_{0};
  size_t head_cache_ = 0;  // producer's last view of head_

  // Consumer line: written by the consumer on every pop.
  alignas(kCacheLine) std::atomic<size_t> head_{0};
  size_t tail_cache_ = 0;  // consumer's last view of tail_
  // No tail padding needed: alignas rounds sizeof up to whole lines, so
  // whatever follows the queue starts on a fresh one.
};

}  // namespace ringcast::core
