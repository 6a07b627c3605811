#include "core/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

namespace ringcast::core {
namespace {

constexpr uint64_t kTick = TimerWheel::kTickMs;
constexpr uint64_t kTurnMs = uint64_t(TimerWheel::kSlots) * TimerWheel::kTickMs;

// The wheel is ~64 KiB of sentinels: keep it off the test's stack.
std::unique_ptr<TimerWheel> wheel_at(uint64_t now_ms) { return std::make_unique<TimerWheel>(now_ms); }

// Records which nodes fired, and when, in firing order.
struct Fired {
  std::vector<const TimerNode*> nodes;
  std::vector<uint64_t> at;
  void advance(TimerWheel& w, uint64_t now) {
    w.advance(now, [&](TimerNode* n) {
      EXPECT_FALSE(n->armed()) << "fire must see an unlinked node";
      nodes.push_back(n);
      at.push_back(now);
    });
  }
  size_t count(const TimerNode* n) const { return size_t(std::count(nodes.begin(), nodes.end(), n)); }
};

// Steps the clock 1 ms at a time and returns the first time the node fired,
// or 0 if it did not by `until`.
uint64_t first_fire_stepping(TimerWheel& w, TimerNode& node, uint64_t from, uint64_t until) {
  for (uint64_t t = from; t <= until; ++t) {
    bool fired = false;
    w.advance(t, [&](TimerNode* n) { fired |= (n == &node); });
    if (fired) return t;
  }
  return 0;
}

TEST(TimerWheel, StartsEmpty) {
  auto w = wheel_at(1000);
  EXPECT_TRUE(w->empty());
  EXPECT_EQ(w->size(), 0u);
  Fired f;
  f.advance(*w, 5000);
  EXPECT_TRUE(f.nodes.empty());
}

TEST(TimerWheel, NodeIsUnarmedByDefault) {
  TimerNode n;
  EXPECT_FALSE(n.armed());
}

TEST(TimerWheel, ScheduleArmsAndCounts) {
  auto w = wheel_at(0);
  TimerNode a, b;
  w->schedule(&a, 100);
  w->schedule(&b, 200);
  EXPECT_TRUE(a.armed());
  EXPECT_TRUE(b.armed());
  EXPECT_EQ(a.expires_ms, 100u);
  EXPECT_EQ(w->size(), 2u);
  EXPECT_FALSE(w->empty());
}

// Every deadline, on and off the tick grid, stepping the clock 1 ms at a
// time: never fires before its deadline, and at most one tick after it
// (a deadline equal to now on a tick boundary goes to the next tick).
TEST(TimerWheel, FiresAtOrAfterDeadlineNeverBefore) {
  for (uint64_t start : {uint64_t(0), uint64_t(7), uint64_t(1'000'003)}) {
    for (uint64_t delay = 0; delay <= 45; ++delay) {
      auto w = wheel_at(start);
      TimerNode n;
      const uint64_t deadline = start + delay;
      w->schedule(&n, deadline);
      const uint64_t fired = first_fire_stepping(*w, n, start, deadline + 2 * kTick);
      ASSERT_NE(fired, 0u) << "start " << start << " delay " << delay;
      EXPECT_GE(fired, deadline) << "start " << start << " delay " << delay;
      EXPECT_LE(fired, deadline + kTick) << "start " << start << " delay " << delay;
      EXPECT_TRUE(w->empty());
      EXPECT_FALSE(n.armed());
    }
  }
}

TEST(TimerWheel, DeadlineOnTickBoundaryFiresExactlyThen) {
  auto w = wheel_at(0);
  TimerNode n;
  w->schedule(&n, 50);
  Fired f;
  f.advance(*w, 49);
  EXPECT_TRUE(f.nodes.empty());
  f.advance(*w, 50);
  ASSERT_EQ(f.nodes.size(), 1u);
  EXPECT_EQ(f.nodes[0], &n);
}

TEST(TimerWheel, SameSlotDifferentDeadlinesFireSeparately) {
  // 41 and 49 share the slot of tick 5; neither fires before tick 5 ends
  // the wait, both fire once it has passed.
  auto w = wheel_at(0);
  TimerNode a, b;
  w->schedule(&a, 41);
  w->schedule(&b, 49);
  Fired f;
  f.advance(*w, 40);
  EXPECT_TRUE(f.nodes.empty());
  f.advance(*w, 50);
  EXPECT_EQ(f.count(&a), 1u);
  EXPECT_EQ(f.count(&b), 1u);
}

TEST(TimerWheel, PastDeadlineFiresOnNextTick) {
  auto w = wheel_at(1000);
  TimerNode n;
  w->schedule(&n, 10);  // long gone
  EXPECT_TRUE(n.armed());
  Fired f;
  f.advance(*w, 1010);
  ASSERT_EQ(f.nodes.size(), 1u);
  EXPECT_TRUE(w->empty());
}

TEST(TimerWheel, OrderAcrossSlots) {
  auto w = wheel_at(0);
  TimerNode n[5];
  const uint64_t deadlines[5] = {500, 30, 250, 1000, 90};
  for (int i = 0; i < 5; ++i) w->schedule(&n[i], deadlines[i]);
  Fired f;
  f.advance(*w, 2000);  // one advance, many slots: earliest slot first
  ASSERT_EQ(f.nodes.size(), 5u);
  EXPECT_EQ(f.nodes[0], &n[1]);
  EXPECT_EQ(f.nodes[1], &n[4]);
  EXPECT_EQ(f.nodes[2], &n[2]);
  EXPECT_EQ(f.nodes[3], &n[0]);
  EXPECT_EQ(f.nodes[4], &n[3]);
  EXPECT_TRUE(w->empty());
}

TEST(TimerWheel, AdvanceFiresOnlyTheDueOnes) {
  auto w = wheel_at(0);
  TimerNode a, b, c;
  w->schedule(&a, 100);
  w->schedule(&b, 200);
  w->schedule(&c, 300);
  Fired f;
  f.advance(*w, 200);
  EXPECT_EQ(f.count(&a), 1u);
  EXPECT_EQ(f.count(&b), 1u);
  EXPECT_EQ(f.count(&c), 0u);
  EXPECT_EQ(w->size(), 1u);
  EXPECT_TRUE(c.armed());
  f.advance(*w, 300);
  EXPECT_EQ(f.count(&c), 1u);
  EXPECT_TRUE(w->empty());
}

TEST(TimerWheel, CancelRemovesAndUpdatesSize) {
  auto w = wheel_at(0);
  TimerNode a, b, c;
  w->schedule(&a, 100);
  w->schedule(&b, 100);  // same slot as a
  w->schedule(&c, 200);
  EXPECT_EQ(w->size(), 3u);
  w->cancel(&b);
  EXPECT_FALSE(b.armed());
  EXPECT_EQ(w->size(), 2u);
  w->cancel(&b);  // cancelling an unarmed node changes nothing
  EXPECT_EQ(w->size(), 2u);
  TimerNode never;
  w->cancel(&never);
  EXPECT_EQ(w->size(), 2u);
  Fired f;
  f.advance(*w, 1000);
  EXPECT_EQ(f.count(&a), 1u);
  EXPECT_EQ(f.count(&b), 0u);
  EXPECT_EQ(f.count(&c), 1u);
  EXPECT_TRUE(w->empty());
}

TEST(TimerWheel, CancelEveryNodeLeavesWheelEmptyAndQuiet) {
  auto w = wheel_at(0);
  std::vector<TimerNode> nodes(100);
  for (size_t i = 0; i < nodes.size(); ++i) w->schedule(&nodes[i], 10 + i * 37);
  EXPECT_EQ(w->size(), 100u);
  for (size_t i = 0; i < nodes.size(); i += 2) w->cancel(&nodes[i]);
  EXPECT_EQ(w->size(), 50u);
  for (size_t i = 1; i < nodes.size(); i += 2) w->cancel(&nodes[i]);
  EXPECT_TRUE(w->empty());
  Fired f;
  f.advance(*w, 100'000);
  EXPECT_TRUE(f.nodes.empty());
}

TEST(TimerWheel, CancelInsideFireOfANodeInAnotherSlot) {
  auto w = wheel_at(0);
  TimerNode a, b;
  w->schedule(&a, 50);
  w->schedule(&b, 60);
  int fired = 0;
  w->advance(100, [&](TimerNode* n) {
    ++fired;
    if (n == &a) w->cancel(&b);
  });
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(w->empty());
}

// A fire callback that closes another connection cancels that connection's
// timer. When that node sits right after the firing one in the same slot,
// advance() has already saved it as `next` and walks into the unlinked node
// (prev == next == nullptr). Run in a child so a crash fails only this test.
// Exits 0 when cancelling the next same-slot node from fire() works.
[[noreturn]] void cancel_next_in_slot_from_fire() {
  auto w = wheel_at(0);
  TimerNode a;
  TimerNode b;
  w->schedule(&a, 50);
  w->schedule(&b, 50);  // same slot, right after a
  int fired = 0;
  w->advance(50, [&](TimerNode* n) {
    ++fired;
    if (n == &a) w->cancel(&b);
  });
  std::exit(fired == 1 && w->empty() ? 0 : 1);
}

TEST(TimerWheelDeathTest, CancelInsideFireOfTheNextNodeInTheSameSlot) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(cancel_next_in_slot_from_fire(), ::testing::ExitedWithCode(0), "");
}

TEST(TimerWheel, RescheduleArmedNodeMovesIt) {
  auto w = wheel_at(0);
  TimerNode n;
  w->schedule(&n, 100);
  w->schedule(&n, 500);  // later
  EXPECT_EQ(w->size(), 1u);
  EXPECT_EQ(n.expires_ms, 500u);
  Fired f;
  f.advance(*w, 499);
  EXPECT_TRUE(f.nodes.empty());
  f.advance(*w, 500);
  EXPECT_EQ(f.count(&n), 1u);

  w->schedule(&n, 900);
  w->schedule(&n, 600);  // earlier
  EXPECT_EQ(w->size(), 1u);
  f.advance(*w, 600);
  EXPECT_EQ(f.count(&n), 2u);
  f.advance(*w, 2000);
  EXPECT_EQ(f.count(&n), 2u);  // not a second time for the old deadline
  EXPECT_TRUE(w->empty());
}

TEST(TimerWheel, RescheduleInsideFire) {
  auto w = wheel_at(0);
  TimerNode n;
  w->schedule(&n, 100);
  std::vector<uint64_t> fired;
  auto periodic = [&](uint64_t now) {
    w->advance(now, [&](TimerNode* p) {
      fired.push_back(now);
      w->schedule(p, now + 100);
    });
  };
  for (uint64_t t = 0; t <= 1000; t += 10) periodic(t);
  EXPECT_EQ(fired, (std::vector<uint64_t>{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000}));
  EXPECT_EQ(w->size(), 1u);
}

// A deadline that is already due when fire() reschedules the node (the
// gateway does this: after a pong, the next ping is due at last_rx +
// idle_ping_ms, which may be in the past when pong_timeout_ms >
// idle_ping_ms). It must fire again on this advance or the next one, not a
// whole wheel turn later.
TEST(TimerWheel, DueDeadlineScheduledInsideFireIsNotDelayedByATurn) {
  auto w = wheel_at(0);
  TimerNode n;
  w->schedule(&n, 100);
  int fires = 0;
  auto step = [&](uint64_t now) {
    w->advance(now, [&](TimerNode* p) {
      ++fires;
      if (fires == 1) w->schedule(p, 95);  // due already
    });
  };
  step(100);
  step(110);
  step(120);
  EXPECT_EQ(fires, 2) << "rescheduled at 95 during advance(100); still pending at 120 (slot of tick "
                      << 95 / 10 + 1 << " was already walked)";
}

TEST(TimerWheel, DeadlineScheduledInsideFireIntoAnAlreadyWalkedSlot) {
  // One advance walks ticks 1..100. Node a fires at tick 5 and schedules b
  // for 30: tick 3 is behind the walk, so b must still fire (now or on the
  // next advance), not 41 s later.
  auto w = wheel_at(0);
  TimerNode a, b;
  w->schedule(&a, 50);
  bool b_fired = false;
  auto fire = [&](TimerNode* p) {
    if (p == &a) w->schedule(&b, 30);
    if (p == &b) b_fired = true;
  };
  w->advance(1000, fire);
  w->advance(1010, fire);
  EXPECT_TRUE(b_fired);
}

TEST(TimerWheel, DeadlineBeyondOneTurnFiresOnTimeNotEarly) {
  for (uint64_t delay : {kTurnMs - 5, kTurnMs, kTurnMs + 1, kTurnMs + 10, kTurnMs + 123, 2 * kTurnMs + 7,
                         5 * kTurnMs + 40}) {
    auto w = wheel_at(0);
    TimerNode n;
    w->schedule(&n, delay);
    // A reactor wakes every tick while a timer is armed.
    uint64_t fired = 0;
    for (uint64_t t = 0; t <= delay + 3 * kTick && !fired; t += kTick) {
      w->advance(t, [&](TimerNode*) { fired = t; });
    }
    ASSERT_NE(fired, 0u) << "delay " << delay;
    EXPECT_GE(fired, delay) << "delay " << delay;
    EXPECT_LT(fired, delay + kTick) << "delay " << delay;
  }
}

TEST(TimerWheel, DeadlineBeyondOneTurnSurvivesItsSlotBeingVisited) {
  auto w = wheel_at(0);
  TimerNode far, near;
  w->schedule(&far, kTurnMs + 50);  // same slot as tick 5
  w->schedule(&near, 50);
  Fired f;
  f.advance(*w, 50);
  EXPECT_EQ(f.count(&near), 1u);
  EXPECT_EQ(f.count(&far), 0u);
  EXPECT_TRUE(far.armed());
  f.advance(*w, kTurnMs + 49);
  EXPECT_EQ(f.count(&far), 0u);
  f.advance(*w, kTurnMs + 50);
  EXPECT_EQ(f.count(&far), 1u);
}

TEST(TimerWheel, LargeTimeJumpFiresEverythingDueOnce) {
  auto w = wheel_at(0);
  std::vector<TimerNode> due(50), later(3);
  for (size_t i = 0; i < due.size(); ++i) w->schedule(&due[i], 10 + i * 997);  // spread over slots
  w->schedule(&later[0], 10 * kTurnMs + 5);
  w->schedule(&later[1], 10 * kTurnMs + 500);
  w->schedule(&later[2], 12 * kTurnMs);
  Fired f;
  f.advance(*w, 10 * kTurnMs);  // a stall of ten turns
  for (auto& n : due) EXPECT_EQ(f.count(&n), 1u);
  for (auto& n : later) EXPECT_EQ(f.count(&n), 0u);
  EXPECT_EQ(w->size(), 3u);
  f.advance(*w, 10 * kTurnMs + 10);
  EXPECT_EQ(f.count(&later[0]), 1u);
  EXPECT_EQ(f.count(&later[1]), 0u);
  f.advance(*w, 10 * kTurnMs + 499);
  EXPECT_EQ(f.count(&later[1]), 0u);
  f.advance(*w, 10 * kTurnMs + 500);
  EXPECT_EQ(f.count(&later[1]), 1u);
  f.advance(*w, 12 * kTurnMs - 1);
  EXPECT_EQ(f.count(&later[2]), 0u);
  f.advance(*w, 12 * kTurnMs);
  EXPECT_EQ(f.count(&later[2]), 1u);
  EXPECT_TRUE(w->empty());
}

TEST(TimerWheel, ScheduleAfterIdleJumpUsesTheNewTime) {
  auto w = wheel_at(0);
  Fired f;
  f.advance(*w, 7 * kTurnMs + 3);  // empty: just moves the clock
  TimerNode n;
  w->schedule(&n, 7 * kTurnMs + 100);
  f.advance(*w, 7 * kTurnMs + 99);
  EXPECT_TRUE(f.nodes.empty());
  f.advance(*w, 7 * kTurnMs + 100);
  EXPECT_EQ(f.count(&n), 1u);
}

TEST(TimerWheel, MsUntilNext) {
  auto w = wheel_at(1000);
  EXPECT_EQ(w->ms_until_next(1000, 500), 500u) << "empty: the cap";
  TimerNode n;
  w->schedule(&n, 5000);
  // Armed: until the slot holding the deadline, capped; no wake per tick.
  EXPECT_EQ(w->ms_until_next(1000, 500), 500u);
  EXPECT_EQ(w->ms_until_next(1000, 10000), 4000u);
  EXPECT_EQ(w->ms_until_next(1003, 10000), 3997u);
  EXPECT_EQ(w->ms_until_next(1003, 2), 2u);
  TimerNode soon;
  w->schedule(&soon, 1015);  // fires at the first tick boundary after: 1020
  EXPECT_EQ(w->ms_until_next(1000, 10000), 20u);
  EXPECT_EQ(w->ms_until_next(1025, 10000), 0u) << "overdue: no sleep";
  w->cancel(&soon);
  Fired f;
  f.advance(*w, 1004);
  EXPECT_EQ(w->ms_until_next(1004, 10000), 3996u);
  w->cancel(&n);
  EXPECT_EQ(w->ms_until_next(1004, 500), 500u);
}

// Sleeping exactly ms_until_next and then advancing never misses a deadline
// by more than a tick.
TEST(TimerWheel, SleepingMsUntilNextReachesEveryDeadline) {
  std::mt19937_64 rng(42);
  auto w = wheel_at(0);
  std::vector<TimerNode> nodes(200);
  for (auto& n : nodes) w->schedule(&n, rng() % 5000);
  uint64_t now = 0;
  std::vector<uint64_t> late;
  while (!w->empty()) {
    now += std::max<uint64_t>(1, w->ms_until_next(now, 1000));
    w->advance(now, [&](TimerNode* n) {
      EXPECT_GE(now, n->expires_ms);
      late.push_back(now - n->expires_ms);
    });
    ASSERT_LT(now, 10'000u);
  }
  ASSERT_EQ(late.size(), nodes.size());
  EXPECT_LE(*std::max_element(late.begin(), late.end()), kTick);
}

// Differential check against the obvious model: random schedules, cancels,
// reschedules and clock steps (some large); every node fires exactly when
// the model says it is due, within one tick, never early.
TEST(TimerWheel, RandomisedAgainstModel) {
  std::mt19937_64 rng(7);
  auto w = wheel_at(123);
  constexpr size_t kNodes = 64;
  std::vector<TimerNode> nodes(kNodes);
  std::vector<bool> armed(kNodes, false);
  std::vector<uint64_t> deadline(kNodes, 0);
  // The first tick boundary after both the deadline and the schedule call.
  std::vector<uint64_t> due_tick(kNodes, 0);
  uint64_t now = 123;
  for (int step = 0; step < 20000; ++step) {
    const size_t i = rng() % kNodes;
    switch (rng() % 4) {
      case 0:
      case 1: {
        const uint64_t d = now + (rng() % 8 == 0 ? rng() % (3 * kTurnMs) : rng() % 500);
        w->schedule(&nodes[i], d);
        armed[i] = true;
        deadline[i] = d;
        due_tick[i] = std::max((d + kTick - 1) / kTick, now / kTick + 1);
        break;
      }
      case 2:
        w->cancel(&nodes[i]);
        armed[i] = false;
        break;
      default: {
        now += rng() % 64 == 0 ? rng() % (2 * kTurnMs) : rng() % 25;
        w->advance(now, [&](TimerNode* n) {
          const size_t k = size_t(n - nodes.data());
          ASSERT_TRUE(armed[k]);
          EXPECT_LE(deadline[k], now);
          armed[k] = false;
        });
        for (size_t k = 0; k < kNodes; ++k) {
          if (armed[k] && due_tick[k] <= now / kTick) {
            ADD_FAILURE() << "node " << k << " deadline " << deadline[k] << " not fired at " << now;
            armed[k] = false;
            w->cancel(&nodes[k]);
          }
        }
      }
    }
    size_t expected = size_t(std::count(armed.begin(), armed.end(), true));
    ASSERT_EQ(w->size(), expected) << "step " << step;
  }
}

}  // namespace
}  // namespace ringcast::core
