#include "core/timer_wheel.hpp"

#include <algorithm>

namespace ringcast::core {

TimerWheel::TimerWheel(uint64_t now_ms) : current_tick_(now_ms / kTickMs) {
  for (auto& s : slots_) s.prev = s.next = &s;
}

void TimerWheel::schedule(TimerNode* node, uint64_t at_ms) {
  if (node->armed()) unlink_counted(node);
  node->expires_ms = at_ms;
  // Never into the current or a past slot: advance starts at current_tick_+1.
  uint64_t tick = (at_ms + kTickMs - 1) / kTickMs;
  if (tick <= current_tick_) tick = current_tick_ + 1;
  TimerNode* head = slot_head(tick);
  node->next = head;
  node->prev = head->prev;
  head->prev->next = node;
  head->prev = node;
  ++count_;
}

void TimerWheel::unlink_counted(TimerNode* node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->prev = node->next = nullptr;
  --count_;
}

uint64_t TimerWheel::ms_until_next(uint64_t now_ms, uint64_t cap_ms) const {
  if (count_ == 0) return cap_ms;
  // Sleep until the first slot that holds anything, so a reactor whose
  // connections all sit idle wakes for their deadlines, not every tick.
  const uint64_t max_ticks = std::min<uint64_t>(cap_ms / kTickMs + 1, kSlots);
  for (uint64_t t = current_tick_ + 1; t <= current_tick_ + max_ticks; ++t) {
    const TimerNode* head = &slots_[t % kSlots];
    if (head->next != head) {
      const uint64_t at = t * kTickMs;
      return at > now_ms ? std::min(at - now_ms, cap_ms) : 0;
    }
  }
  return cap_ms;
}

}  // namespace ringcast::core
