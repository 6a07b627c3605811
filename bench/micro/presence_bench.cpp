// The presence table (pubsub/presence.hpp): apply() on its three paths — a
// known member's count changes (a second tab), a member joins and leaves an
// existing channel, a channel's first member creates and frees it — with
// 1k and 100k members in the table and in one 10k-member channel; the
// lookups; and what a receiving reactor pays per PresenceDelta (make, apply,
// release), the mesh aside.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "pubsub/presence.hpp"

namespace {

using ringcast::pubsub::PresenceDelta;
using ringcast::pubsub::PresenceTable;

// Seed-003-like ids: "tenant-17/channel:00042", "user-000123", "agent-000123".
std::string numbered(const char* prefix, size_t n) {
  std::string digits = std::to_string(n);
  std::string s = prefix;
  s.append(digits.size() < 6 ? 6 - digits.size() : 0, '0');
  s += digits;
  return s;
}

struct Population {
  std::vector<std::string> topics, users, agents;
  size_t per_topic;
  // Member i is (users[i], agents[i]) in topics[i / per_topic].
  const std::string& topic_of(size_t i) const { return topics[i / per_topic]; }
};

Population population(size_t members, size_t per_topic) {
  Population p;
  p.per_topic = per_topic;
  for (size_t t = 0; t < (members + per_topic - 1) / per_topic; ++t) {
    std::string s = "tenant-";
    s += std::to_string(t % 97);
    s += numbered("/channel:", t);
    p.topics.push_back(std::move(s));
  }
  for (size_t i = 0; i < members; ++i) {
    p.users.push_back(numbered("user-", i));
    p.agents.push_back(numbered("agent-", i));
  }
  return p;
}

void fill(PresenceTable& t, const Population& p) {
  for (size_t i = 0; i < p.users.size(); ++i) t.apply(p.topic_of(i), p.users[i], p.agents[i], +1);
}

std::vector<uint32_t> shuffled(size_t n) {
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = uint32_t(i);
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  return order;
}

// range(0) members in total, range(1) per channel.
#define PRESENCE_SIZES ->Args({1000, 100})->Args({100000, 100})->Args({10000, 10000})

// A known member opens and closes a second connection: +1 then -1, no
// transition, no allocation. Two apply() per iteration.
void BM_PresenceCount(benchmark::State& state) {
  const Population p = population(size_t(state.range(0)), size_t(state.range(1)));
  const auto order = shuffled(p.users.size());
  PresenceTable t;
  fill(t, p);
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t m = order[i];
    benchmark::DoNotOptimize(t.apply(p.topic_of(m), p.users[m], p.agents[m], +1));
    benchmark::DoNotOptimize(t.apply(p.topic_of(m), p.users[m], p.agents[m], -1));
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 2);
}
BENCHMARK(BM_PresenceCount) PRESENCE_SIZES;

// A new member joins an existing channel and leaves: the member node (and
// its ids) allocated and freed. Two apply() per iteration.
void BM_PresenceJoinLeave(benchmark::State& state) {
  const Population p = population(size_t(state.range(0)), size_t(state.range(1)));
  const auto order = shuffled(p.users.size());
  PresenceTable t;
  fill(t, p);
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t m = order[i];
    // The agent of the member next door: a (user, agent) pair not in the table.
    const std::string& agent = p.agents[m + 1 == p.agents.size() ? 0 : m + 1];
    benchmark::DoNotOptimize(t.apply(p.topic_of(m), p.users[m], agent, +1));
    benchmark::DoNotOptimize(t.apply(p.topic_of(m), p.users[m], agent, -1));
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 2);
}
BENCHMARK(BM_PresenceJoinLeave) PRESENCE_SIZES;

// The first member of a channel joins and leaves: the channel created and
// freed as well. Two apply() per iteration.
void BM_PresenceChannelCreateFree(benchmark::State& state) {
  const Population p = population(size_t(state.range(0)), size_t(state.range(1)));
  PresenceTable t;
  fill(t, p);
  std::vector<std::string> fresh;
  for (size_t k = 0; k < 512; ++k) fresh.push_back(numbered("tenant-5/empty:", k));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.apply(fresh[i], p.users[i], p.agents[i], +1));
    benchmark::DoNotOptimize(t.apply(fresh[i], p.users[i], p.agents[i], -1));
    i = (i + 1) & 511;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 2);
}
BENCHMARK(BM_PresenceChannelCreateFree)->Args({1000, 100})->Args({100000, 100});

// connections(): a hit on a random member.
void BM_PresenceConnections(benchmark::State& state) {
  const Population p = population(size_t(state.range(0)), size_t(state.range(1)));
  const auto order = shuffled(p.users.size());
  PresenceTable t;
  fill(t, p);
  size_t i = 0;
  for (auto _ : state) {
    const uint32_t m = order[i];
    benchmark::DoNotOptimize(t.connections(p.topic_of(m), p.users[m], p.agents[m]));
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_PresenceConnections) PRESENCE_SIZES;

// Listing a channel's members (a presence request), per member.
void BM_PresenceForEachMember(benchmark::State& state) {
  const Population p = population(size_t(state.range(0)), size_t(state.range(0)));
  PresenceTable t;
  fill(t, p);
  for (auto _ : state) {
    uint64_t sum = 0;
    t.for_each_member(p.topics[0], [&](const PresenceTable::Member& m) { sum += m.connections + m.user.size(); });
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_PresenceForEachMember)->Arg(1000);

// What another reactor pays per change, mesh aside: the sender's make(), the
// receiver's apply(*delta) (a count change on a known member) and release().
void BM_PresenceDeltaApply(benchmark::State& state) {
  const Population p = population(size_t(state.range(0)), size_t(state.range(1)));
  const auto order = shuffled(p.users.size());
  PresenceTable t;
  fill(t, p);
  size_t i = 0;
  int32_t change = +1;
  for (auto _ : state) {
    const uint32_t m = order[i];
    PresenceDelta* d = PresenceDelta::make(p.topic_of(m), p.users[m], p.agents[m], change, 1, 1);
    benchmark::DoNotOptimize(t.apply(*d));
    d->release();
    if (++i == order.size()) {
      i = 0;
      change = -change;  // +1 on every member, then -1 on every member
    }
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_PresenceDeltaApply)->Args({100000, 100});

}  // namespace
