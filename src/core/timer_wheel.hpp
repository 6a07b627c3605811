// A hashed timing wheel with intrusive nodes: O(1) schedule and cancel, and
// an advance that touches only the slots whose tick has passed. Each
// connection embeds one TimerNode, so timers cost no allocation. Resolution
// is kTickMs; deadlines further out than one turn of the wheel stay in their
// slot until their round comes.
#pragma once

#include <cstdint>

namespace ringcast::core {

struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  uint64_t expires_ms = 0;
  bool armed() const { return prev != nullptr; }
};

class TimerWheel {
 public:
  static constexpr uint64_t kTickMs = 10;
  static constexpr uint32_t kSlots = 4096;  // one turn = ~41 s

  explicit TimerWheel(uint64_t now_ms);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void schedule(TimerNode* node, uint64_t at_ms);
  void cancel(TimerNode* node) {
    if (node->armed()) unlink_counted(node);
  }
  bool empty() const { return count_ == 0; }
  uint32_t size() const { return count_; }

  // Milliseconds until the next tick that may hold an expiry, capped; lets
  // the loop sleep without a periodic wake when nothing is due.
  uint64_t ms_until_next(uint64_t now_ms, uint64_t cap_ms) const;

  // Calls fire(node), after unlinking it, for every node whose deadline is
  // <= now_ms and whose tick has passed: a node fires at the first tick
  // boundary at or after its deadline, never before it and at most kTickMs
  // late. fire may schedule or cancel any node, itself included.
  template <class Fire>
  void advance(uint64_t now_ms, Fire&& fire);

 private:
  TimerNode* slot_head(uint64_t tick) { return &slots_[tick % kSlots]; }
  void unlink_counted(TimerNode* node);

  TimerNode slots_[kSlots];  // sentinels of circular lists
  uint64_t current_tick_;    // last tick processed
  uint32_t count_ = 0;
};

template <class Fire>
void TimerWheel::advance(uint64_t now_ms, Fire&& fire) {
  const uint64_t target = now_ms / kTickMs;
  if (count_ == 0) {
    current_tick_ = target;
    return;
  }
  // A long stall must not walk more than one turn of slots.
  const uint64_t last = target - current_tick_ > kSlots ? current_tick_ + kSlots : target;
  while (current_tick_ < last && count_ != 0) {
    // Advance first: a deadline that fire() schedules now must land in a
    // slot still ahead of the walk, not in one already passed.
    ++current_tick_;
    TimerNode* head = slot_head(current_tick_);
    if (head->next == head) continue;
    // Detach the slot so fire() may cancel or reschedule any node, including
    // ones not yet visited: they are unlinked from `pending` like from a slot.
    TimerNode pending;
    pending.next = head->next;
    pending.prev = head->prev;
    pending.next->prev = &pending;
    pending.prev->next = &pending;
    head->next = head->prev = head;
    while (pending.next != &pending) {
      TimerNode* n = pending.next;
      n->prev->next = n->next;
      n->next->prev = n->prev;
      if (n->expires_ms <= now_ms) {
        n->prev = n->next = nullptr;
        --count_;
        fire(n);
      } else {  // a later turn of the wheel: back into its slot
        n->next = head;
        n->prev = head->prev;
        head->prev->next = n;
        head->prev = n;
      }
    }
  }
  current_tick_ = target;
}

}  // namespace ringcast::core
