// The cross-reactor mesh: one bounded SPSC queue per ordered pair of
// reactors, plus a doorbell per reactor. A reactor only ever pushes to the
// queues it produces for and pops from the queues it consumes, so no queue
// has two writers and nothing here takes a lock.
//
// Doorbell: a reactor about to block announces it (sleeping = true) and then
// looks at its queues once more; a sender, after pushing, rings (an eventfd
// write the sleeper's ring is reading) only if the target announced sleep.
// Both sides fence between their store and their load, so at least one of
// them sees the other: either the sleeper finds the message, or the sender
// finds the sleeper. A busy reactor is never rung at all.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "core/spsc_queue.hpp"

namespace ringcast::core {

// What travels between reactors: a kind, the sender, and two words whose
// meaning the kind gives (a pointer to a refcounted parcel, a sequence, a
// connection id). Kinds are the upper layers' business.
struct MeshMessage {
  uint16_t kind;
  uint16_t from;
  uint32_t arg;
  uint64_t value;
  void* ptr;
};

class Mesh {
 public:
  Mesh(uint32_t reactors, uint32_t queue_depth);
  Mesh(const Mesh&) = delete;
  Mesh& operator=(const Mesh&) = delete;

  uint32_t size() const { return n_; }
  SpscQueue<MeshMessage>& queue(uint32_t from, uint32_t to) { return *queues_[from * n_ + to]; }

  // Set once before the reactors start.
  void set_doorbell(uint32_t reactor, int eventfd) { bells_[reactor].fd = eventfd; }

  // --- the sleeper (reactor `self`, on its own thread) ---
  // Announces sleep; false if a message is already waiting (do not block).
  bool prepare_sleep(uint32_t self);
  void woke(uint32_t self) { bells_[self].sleeping.store(false, std::memory_order_relaxed); }
  bool has_input(uint32_t self);

  // --- a sender, after pushing to `to` ---
  void ring_if_sleeping(uint32_t to);

 private:
  struct alignas(64) Bell {
    std::atomic<bool> sleeping{false};
    int fd = -1;
  };

  uint32_t n_;
  std::vector<std::unique_ptr<SpscQueue<MeshMessage>>> queues_;
  std::unique_ptr<Bell[]> bells_;
};

// One reactor's end of the mesh: sends that never block (a full queue spills
// to a local list, retried every turn, in order) and a batched receive.
class MeshPort {
 public:
  MeshPort(Mesh& mesh, uint32_t self);

  uint32_t self() const { return self_; }
  uint32_t peers() const { return mesh_.size(); }

  void send(uint32_t to, const MeshMessage& m);
  // Retries spilled messages and rings the doorbells of reactors sent to
  // since the last call. Once per loop turn.
  void flush();
  bool has_spill() const { return spilled_ != 0; }
  uint32_t spilled() const { return spilled_; }

  // Pops everything waiting, calling f(const MeshMessage&) for each.
  template <class F>
  void receive(F&& f) {
    MeshMessage batch[64];
    for (uint32_t from = 0; from < mesh_.size(); ++from) {
      if (from == self_) continue;
      SpscQueue<MeshMessage>& q = mesh_.queue(from, self_);
      for (;;) {
        const size_t n = q.pop_batch(batch, 64);
        for (size_t i = 0; i < n; ++i) f(batch[i]);
        if (n < 64) break;
      }
    }
  }

  // Hands every message still spilled (never sent) to f, emptying the
  // spill lists. For teardown, once no reactor runs.
  template <class F>
  void drain_spill(F&& f) {
    for (auto& spill : spill_) {
      for (const MeshMessage& m : spill) f(m);
      spill.clear();
    }
    spilled_ = 0;
  }

  bool prepare_sleep() { return mesh_.prepare_sleep(self_); }
  void woke() { mesh_.woke(self_); }

 private:
  Mesh& mesh_;
  uint32_t self_;
  uint32_t spilled_ = 0;                    // messages across all spill lists
  std::vector<std::deque<MeshMessage>> spill_;  // per target; non-empty = queue was full
  std::vector<uint8_t> to_ring_;
};

}  // namespace ringcast::core
