#include "core/timer_wheel.hpp"

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
  const uint64_t next_tick_ms = (current_tick_ + 1) * kTickMs;
  const uint64_t wait = next_tick_ms > now_ms ? next_tick_ms - now_ms : 0;
  return wait < cap_ms ? wait : cap_ms;
}

}  // namespace ringcast::core
