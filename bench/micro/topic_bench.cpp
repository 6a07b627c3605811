// A reactor's topic table: subscribe/unsubscribe (add_local/remove_local)
// and lookup with 1k and 100k topics, and walking a 1,000-subscriber topic
// (what every publish pays per subscriber, before the sink).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "pubsub/topic_table.hpp"

namespace {

using ringcast::pubsub::Topic;
using ringcast::pubsub::TopicTable;

// Channel-like names: "tenant-17/room:00042".
std::vector<std::string> topic_names(size_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string s = "tenant-";
    s += std::to_string(i % 97);
    s += "/room:";
    s += std::to_string(i);
    names.push_back(std::move(s));
  }
  return names;
}

// A table of n topics, each with one local subscriber (slot i).
void fill(TopicTable& t, const std::vector<std::string>& names) {
  bool first;
  for (size_t i = 0; i < names.size(); ++i) t.add_local(names[i], uint32_t(i), &first);
}

// Random order, so the lookups are not cache-friendly by accident.
std::vector<uint32_t> shuffled(size_t n) {
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = uint32_t(i);
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  return order;
}

// A second subscriber joins and leaves an existing topic (no allocation of
// the topic itself).
void BM_TopicJoinLeave(benchmark::State& state) {
  const auto names = topic_names(size_t(state.range(0)));
  const auto order = shuffled(names.size());
  TopicTable t;
  fill(t, names);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& name = names[order[i]];
    bool first;
    Topic* x = t.add_local(name, 1u << 30, &first);
    benchmark::DoNotOptimize(t.remove_local(x, 1u << 30));
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_TopicJoinLeave)->Arg(1000)->Arg(100000);

// The first subscriber of a topic arrives and leaves: the topic is created
// and freed each time (the 0 -> 1 -> 0 path).
void BM_TopicCreateFree(benchmark::State& state) {
  const auto names = topic_names(size_t(state.range(0)));
  const auto extra = topic_names(size_t(state.range(0)) * 2);  // the second half is not in the table
  TopicTable t;
  fill(t, names);
  size_t i = names.size();
  for (auto _ : state) {
    bool first;
    Topic* x = t.add_local(extra[i], 7, &first);
    benchmark::DoNotOptimize(t.remove_local(x, 7));
    if (++i == extra.size()) i = names.size();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_TopicCreateFree)->Arg(1000)->Arg(100000);

// find(): range(1) = 1 for names that exist, 0 for misses.
void BM_TopicFind(benchmark::State& state) {
  const auto names = topic_names(size_t(state.range(0)));
  TopicTable t;
  fill(t, names);
  std::vector<std::string> probe = names;
  if (state.range(1) == 0)
    for (std::string& s : probe) s += "-x";
  const auto order = shuffled(probe.size());
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.find(probe[order[i]]));
    if (++i == order.size()) i = 0;
  }
  state.SetLabel(state.range(1) ? "hit" : "miss");
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_TopicFind)->ArgsProduct({{1000, 100000}, {1, 0}});

// Walking one topic's local subscribers (deliver_local's loop, sink aside).
void BM_TopicIterate(benchmark::State& state) {
  const uint32_t n = uint32_t(state.range(0));
  TopicTable t;
  bool first;
  Topic* x = nullptr;
  for (uint32_t s = 0; s < n; ++s) x = t.add_local("uploads", s * 3 + 1, &first);
  for (auto _ : state) {
    uint64_t sum = 0;
    for (uint32_t slot : x->local) {
      benchmark::DoNotOptimize(slot);
      sum += slot;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * n);
}
BENCHMARK(BM_TopicIterate)->Arg(1000);

// Unsubscribing one of 1,000 subscribers and subscribing it again: the
// linear search remove_local does.
void BM_TopicLeaveOneOf(benchmark::State& state) {
  const uint32_t n = uint32_t(state.range(0));
  TopicTable t;
  bool first;
  Topic* x = nullptr;
  for (uint32_t s = 0; s < n; ++s) x = t.add_local("uploads", s, &first);
  uint32_t slot = 0;
  for (auto _ : state) {
    t.remove_local(x, slot);
    x = t.add_local("uploads", slot, &first);
    slot = (slot + 397) % n;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_TopicLeaveOneOf)->Arg(1000);

}  // namespace
