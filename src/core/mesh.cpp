#include "core/mesh.hpp"

#include <unistd.h>

namespace ringcast::core {

Mesh::Mesh(uint32_t reactors, uint32_t queue_depth) : n_(reactors), bells_(new Bell[reactors]) {
  queues_.resize(size_t(n_) * n_);
  for (uint32_t from = 0; from < n_; ++from)
    for (uint32_t to = 0; to < n_; ++to)
      if (from != to) queues_[from * n_ + to] = std::make_unique<SpscQueue<MeshMessage>>(queue_depth);
}

bool Mesh::has_input(uint32_t self) {
  for (uint32_t from = 0; from < n_; ++from)
    if (from != self && !queue(from, self).empty_approx()) return true;
  return false;
}

bool Mesh::prepare_sleep(uint32_t self) {
  bells_[self].sleeping.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_input(self)) {
    bells_[self].sleeping.store(false, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void Mesh::ring_if_sleeping(uint32_t to) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  Bell& b = bells_[to];
  if (!b.sleeping.load(std::memory_order_relaxed)) return;
  // One ring per sleep: whoever flips the flag writes.
  if (!b.sleeping.exchange(false, std::memory_order_relaxed)) return;
  const uint64_t one = 1;
  // An eventfd write does not block (the counter cannot overflow here: the
  // sleeper reads it on every wake).
  [[maybe_unused]] ssize_t n = ::write(b.fd, &one, sizeof(one));
}

MeshPort::MeshPort(Mesh& mesh, uint32_t self)
    : mesh_(mesh), self_(self), spill_(mesh.size()), to_ring_(mesh.size(), 0) {}

void MeshPort::send(uint32_t to, const MeshMessage& m) {
  std::deque<MeshMessage>& spill = spill_[to];
  // Behind a spill, a message must wait its turn, or order breaks.
  if (spill.empty() && mesh_.queue(self_, to).try_push(m)) {
    to_ring_[to] = 1;
    return;
  }
  spill.push_back(m);
  ++spilled_;
}

void MeshPort::flush() {
  if (spilled_ != 0) {
    for (uint32_t to = 0; to < spill_.size(); ++to) {
      std::deque<MeshMessage>& spill = spill_[to];
      if (spill.empty()) continue;  // (and there is no queue to ourselves)
      SpscQueue<MeshMessage>& q = mesh_.queue(self_, to);
      while (!spill.empty() && q.try_push(spill.front())) {
        spill.pop_front();
        --spilled_;
        to_ring_[to] = 1;
      }
    }
  }
  for (uint32_t to = 0; to < to_ring_.size(); ++to) {
    if (!to_ring_[to]) continue;
    to_ring_[to] = 0;
    mesh_.ring_if_sleeping(to);
  }
}

}  // namespace ringcast::core
