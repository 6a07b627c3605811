#include "pubsub/broker.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>

#include "core/clock.hpp"
#include "pubsub/parcel.hpp"

namespace ringcast::pubsub {

Broker::Broker(core::Mesh* mesh, uint32_t self, DeliverySink& sink)
    : self_(self), reactors_(mesh ? mesh->size() : 1), sink_(sink), acked_(reactors_, 0) {
  if (mesh && mesh->size() > 1) port_ = std::make_unique<core::MeshPort>(*mesh, self);
}

Broker::~Broker() {
  // The reactors have stopped: parcels still queued to us, or spilled on
  // their way out, are released here (each holds one reference per target).
  if (port_) {
    auto release = [this](const core::MeshMessage& m) {
      if ((m.kind == kPublish || m.kind == kInterest) && m.ptr) static_cast<Parcel*>(m.ptr)->release();
      if (m.kind >= kFirstOtherKind && discard_) discard_(m);
    };
    port_->receive(release);
    port_->drain_spill(release);
  }
  // Runs after the reactor cleared every connection's output, so the arena
  // is ours alone by now. (Allocated by the reactor's pool, but each buffer
  // is its own allocation.)
  if (arena_ && --arena_->refs == 0) std::free(arena_);
}

bool Broker::subscribe(uint32_t slot, std::string_view topic, uint64_t* wait_seq) {
  assert(delivering_ == 0 && "a delivery sink must not change subscriptions");
  *wait_seq = 0;
  if (subscribed(slot, topic)) return true;
  bool first = false;
  Topic* t = table_.add_local(topic, slot, &first);
  if (!t) return false;
  by_slot_[slot].push_back(t);
  if (first && port_ && !announce(topic, true, interest_seq_ + 1)) {
    by_slot_[slot].pop_back();
    if (by_slot_[slot].empty()) by_slot_.erase(slot);
    table_.remove_local(t, slot);
    return false;
  }
  if (first && port_) ++interest_seq_;
  // Conservative: wait for every announcement so far, ours or an earlier
  // subscriber's to the same topic that may still be in flight.
  if (!barrier_passed(interest_seq_)) *wait_seq = interest_seq_;
  return true;
}

void Broker::unsubscribe(uint32_t slot, std::string_view topic) {
  assert(delivering_ == 0 && "a delivery sink must not change subscriptions");
  auto it = by_slot_.find(slot);
  if (it == by_slot_.end()) return;
  std::vector<Topic*>& list = it->second;
  auto pos = std::find_if(list.begin(), list.end(), [&](Topic* t) { return t->name == topic; });
  if (pos == list.end()) return;
  Topic* t = *pos;
  list.erase(pos);  // keeps the order: the first is the room of a channel connection
  if (list.empty()) by_slot_.erase(it);
  const std::string name = t->name;  // t may be freed below
  if (table_.remove_local(t, slot) && port_) announce(name, false, 0);
}

void Broker::unsubscribe_all(uint32_t slot) {
  if (delivering_) {
    deferred_.push_back(slot);
    return;
  }
  auto it = by_slot_.find(slot);
  if (it == by_slot_.end()) return;
  std::vector<Topic*> list = std::move(it->second);
  by_slot_.erase(it);
  for (Topic* t : list) {
    const std::string name = t->name;
    if (table_.remove_local(t, slot) && port_) announce(name, false, 0);
  }
}

size_t Broker::subscriptions(uint32_t slot) const {
  auto it = by_slot_.find(slot);
  return it == by_slot_.end() ? 0 : it->second.size();
}

bool Broker::subscribed(uint32_t slot, std::string_view topic) const {
  auto it = by_slot_.find(slot);
  if (it == by_slot_.end()) return false;
  for (const Topic* t : it->second)
    if (t->name == topic) return true;
  return false;
}

std::string_view Broker::first_subscription(uint32_t slot) const {
  auto it = by_slot_.find(slot);
  if (it == by_slot_.end() || it->second.empty()) return {};
  return it->second.front()->name;
}

bool Broker::barrier_passed(uint64_t seq) const {
  for (uint32_t r = 0; r < reactors_; ++r)
    if (r != self_ && acked_[r] < seq) return false;
  return true;
}

bool Broker::announce(std::string_view topic, bool add, uint64_t seq) {
  Parcel* p = Parcel::make(topic, 0, reactors_ - 1, kNobody);
  // Out of memory: a lost "add" is refused to the subscriber by the caller;
  // a lost "remove" only leaves peers sending parcels this reactor drops.
  if (!p) return false;
  for (uint32_t r = 0; r < reactors_; ++r) {
    if (r == self_) continue;
    port_->send(r, core::MeshMessage{kInterest, uint16_t(self_), add ? 1u : 0u, seq, p});
  }
  return true;
}

uint8_t* Broker::publish_reserve(core::Reactor& r, uint32_t len) {
  if (!arena_ || arena_->capacity - arena_->used < len) {
    if (arena_) r.release_buffer(arena_);
    arena_ = r.acquire_buffer(len);
    if (!arena_) return nullptr;
  }
  return arena_->data() + arena_->used;
}

void Broker::publish_commit(core::Reactor& r, std::string_view topic, uint32_t len, uint64_t exclude) {
  const uint32_t offset = arena_->used;
  arena_->used += len;
  Topic* t = table_.find(topic);
  if (!t) return;
  ++stats_.published;
  const uint64_t remote = t->remote;
  if (remote != 0) {
    Parcel* p = Parcel::make(topic, len, uint32_t(__builtin_popcountll(remote)), exclude);
    if (p) {
      std::memcpy(p->frame(), arena_->data() + offset, len);
      const uint64_t now_us = core::monotonic_us();
      for (uint64_t bits = remote; bits; bits &= bits - 1) {
        const uint32_t to = uint32_t(__builtin_ctzll(bits));
        port_->send(to, core::MeshMessage{kPublish, uint16_t(self_), 0, now_us, p});
        ++stats_.parcels_sent;
      }
    }
  }
  // After the parcels: delivery may close subscribers and change the table.
  if (!t->local.empty()) sink_.arrived(0);
  deliver_local(r, t, arena_, offset, len, exclude);
}

void Broker::deliver_local(core::Reactor& r, Topic* t, core::OutBuffer* b, uint32_t offset, uint32_t len,
                           uint64_t exclude) {
  ++delivering_;
  for (uint32_t slot : t->local) {
    if (exclude != kNobody && r.conn_id(slot) == exclude) continue;
    sink_.deliver(r, slot, b, offset, len);
    ++stats_.delivered;
  }
  --delivering_;
  if (delivering_ == 0 && !deferred_.empty()) drain_deferred();
}

void Broker::drain_deferred() {
  std::vector<uint32_t> slots = std::move(deferred_);
  deferred_.clear();
  for (uint32_t slot : slots) unsubscribe_all(slot);
}

void Broker::on_message(core::Reactor& r, const core::MeshMessage& m) {
  switch (m.kind) {
    case kPublish: {
      auto* p = static_cast<Parcel*>(m.ptr);
      Topic* t = table_.find(p->topic());
      if (t && !t->local.empty()) {
        const uint64_t now_us = core::monotonic_us();
        sink_.arrived(now_us > m.value ? now_us - m.value : 0);
        uint8_t* dst = publish_reserve(r, p->frame_len);
        if (dst) {
          std::memcpy(dst, p->frame(), p->frame_len);
          const uint32_t offset = arena_->used;
          arena_->used += p->frame_len;
          deliver_local(r, t, arena_, offset, p->frame_len, p->exclude);
        }
      }
      p->release();
      break;
    }
    case kInterest: {
      auto* p = static_cast<Parcel*>(m.ptr);
      table_.set_remote(p->topic(), m.from, m.arg != 0);
      if (m.arg != 0) port_->send(m.from, core::MeshMessage{kInterestAck, uint16_t(self_), 0, m.value, nullptr});
      p->release();
      break;
    }
    case kInterestAck:
      acked_[m.from] = std::max(acked_[m.from], m.value);
      ++acks_received_;
      break;
    default:
      if (m.kind >= kFirstOtherKind && receiver_) receiver_->on_mesh(r, m);
      break;
  }
}

void Broker::send(uint32_t to, const core::MeshMessage& m) {
  assert(port_ && to != self_);
  port_->send(to, m);
}

void Broker::on_turn(core::Reactor& r) {
  if (!port_) return;
  port_->woke();
  port_->receive([&](const core::MeshMessage& m) { on_message(r, m); });
  port_->flush();
}

uint64_t Broker::before_sleep(uint64_t wait_ms) {
  if (!port_) return wait_ms;
  // A full queue drains only as its reader runs: look again soon.
  if (port_->has_spill()) wait_ms = std::min<uint64_t>(wait_ms, 1);
  if (!port_->prepare_sleep()) return 0;
  return wait_ms;
}

}  // namespace ringcast::pubsub
