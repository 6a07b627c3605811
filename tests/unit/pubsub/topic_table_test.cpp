// TopicTable: the 0 -> 1 and 1 -> 0 local transitions the broker announces,
// the remote-interest bitmask, and when a topic is created and freed.
#include "pubsub/topic_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ringcast::pubsub {
namespace {

// prefix + n, built by appending (GCC 12 warns, wrongly, about "t" + to_string).
std::string numbered(std::string prefix, uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

std::vector<uint32_t> sorted(std::vector<uint32_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(TopicTable, EmptyFindsNothing) {
  TopicTable t;
  EXPECT_EQ(t.find("a"), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(TopicTable, FirstLocalSubscriberIsTheTransition) {
  TopicTable t;
  bool first = false;
  Topic* a = t.add_local("news", 3, &first);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(first);
  EXPECT_EQ(a->name, "news");
  EXPECT_EQ(a->local, std::vector<uint32_t>{3});
  EXPECT_EQ(a->remote, 0u);
  EXPECT_EQ(t.find("news"), a);
  EXPECT_EQ(t.size(), 1u);

  first = true;
  Topic* b = t.add_local("news", 7, &first);
  EXPECT_EQ(b, a);
  EXPECT_FALSE(first);
  EXPECT_EQ(sorted(a->local), (std::vector<uint32_t>{3, 7}));
  EXPECT_EQ(t.size(), 1u);
}

TEST(TopicTable, RemovingTheLastLocalSubscriberFreesAnUnwatchedTopic) {
  TopicTable t;
  bool first = false;
  Topic* a = t.add_local("news", 1, &first);
  t.add_local("news", 2, &first);
  EXPECT_FALSE(t.remove_local(a, 1));  // 2 -> 1: no transition
  EXPECT_EQ(t.find("news"), a);
  EXPECT_EQ(a->local, std::vector<uint32_t>{2});
  EXPECT_TRUE(t.remove_local(a, 2));  // 1 -> 0
  EXPECT_EQ(t.find("news"), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(TopicTable, RemovingTheLastLocalSubscriberKeepsARemotelyWatchedTopic) {
  TopicTable t;
  t.set_remote("news", 5, true);
  bool first = false;
  Topic* a = t.add_local("news", 1, &first);
  EXPECT_TRUE(first);  // the remote side does not count as local
  EXPECT_EQ(a->remote, uint64_t(1) << 5);
  EXPECT_TRUE(t.remove_local(a, 1));
  Topic* kept = t.find("news");
  ASSERT_NE(kept, nullptr);
  EXPECT_TRUE(kept->local.empty());
  EXPECT_EQ(kept->remote, uint64_t(1) << 5);
  // Clearing the last remote bit frees it.
  t.set_remote("news", 5, false);
  EXPECT_EQ(t.find("news"), nullptr);
}

TEST(TopicTable, RemoveASlotNotSubscribed) {
  TopicTable t;
  bool first = false;
  Topic* a = t.add_local("news", 1, &first);
  EXPECT_FALSE(t.remove_local(a, 99));
  EXPECT_EQ(t.find("news"), a);
  EXPECT_EQ(a->local, std::vector<uint32_t>{1});
  EXPECT_EQ(t.size(), 1u);
}

TEST(TopicTable, SetRemoteCreatesAndErases) {
  TopicTable t;
  t.set_remote("x", 0, true);
  Topic* x = t.find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->remote, 1u);
  EXPECT_TRUE(x->local.empty());
  t.set_remote("x", 63, true);
  EXPECT_EQ(x->remote, 1u | (uint64_t(1) << 63));
  t.set_remote("x", 0, true);  // idempotent
  EXPECT_EQ(x->remote, 1u | (uint64_t(1) << 63));
  t.set_remote("x", 0, false);
  EXPECT_EQ(t.find("x"), x);
  EXPECT_EQ(x->remote, uint64_t(1) << 63);
  t.set_remote("x", 63, false);
  EXPECT_EQ(t.find("x"), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(TopicTable, SetRemoteOffForAnUnknownTopicCreatesNothing) {
  TopicTable t;
  t.set_remote("ghost", 3, false);
  EXPECT_EQ(t.find("ghost"), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(TopicTable, SetRemoteOffKeepsALocallyWatchedTopic) {
  TopicTable t;
  bool first = false;
  Topic* a = t.add_local("news", 1, &first);
  t.set_remote("news", 2, true);
  t.set_remote("news", 2, false);
  EXPECT_EQ(t.find("news"), a);
  EXPECT_EQ(a->remote, 0u);
  EXPECT_EQ(a->local, std::vector<uint32_t>{1});
}

TEST(TopicTable, TopicsAreIndependent) {
  TopicTable t;
  bool first = false;
  Topic* a = t.add_local("a", 1, &first);
  Topic* b = t.add_local("b", 1, &first);
  EXPECT_TRUE(first);
  EXPECT_NE(a, b);
  EXPECT_TRUE(t.remove_local(a, 1));
  EXPECT_EQ(t.find("a"), nullptr);
  EXPECT_EQ(t.find("b"), b);
  EXPECT_EQ(b->local, std::vector<uint32_t>{1});
}

TEST(TopicTable, LookupByViewOfALongerBuffer) {
  TopicTable t;
  bool first = false;
  const char buf[] = "uploads-and-more";
  Topic* a = t.add_local(std::string_view(buf, 7), 1, &first);
  EXPECT_EQ(a->name, "uploads");
  EXPECT_EQ(t.find("uploads"), a);
  EXPECT_EQ(t.find("uploads-and-more"), nullptr);
  EXPECT_EQ(t.find(std::string_view("uploads\0", 8)), nullptr);
}

TEST(TopicTable, TopicPointersAreStableAcrossGrowth) {
  // The broker keeps Topic* per subscriber; rehashing must not move topics.
  TopicTable t;
  bool first = false;
  Topic* a = t.add_local("first", 1, &first);
  for (int i = 0; i < 10000; ++i) t.add_local(numbered("t", i), uint32_t(i), &first);
  EXPECT_EQ(t.find("first"), a);
  EXPECT_EQ(a->local, std::vector<uint32_t>{1});
  EXPECT_EQ(t.size(), 10001u);
}

TEST(TopicTable, MatchesASimpleModel) {
  // Random add/remove/set_remote against a set-based model: transitions,
  // subscriber sets and which topics exist.
  std::mt19937 rng(12345);
  TopicTable t;
  struct Model {
    std::multiset<uint32_t> local;
    uint64_t remote = 0;
  };
  std::map<std::string, Model> model;
  for (int step = 0; step < 20000; ++step) {
    const std::string name = numbered("t", rng() % 8);
    const uint32_t slot = rng() % 6;
    Model& m = model[name];
    switch (rng() % 3) {
      case 0: {
        if (m.local.count(slot)) break;  // the broker never adds a slot twice
        bool first = false;
        Topic* x = t.add_local(name, slot, &first);
        ASSERT_NE(x, nullptr);
        EXPECT_EQ(first, m.local.empty());
        m.local.insert(slot);
        break;
      }
      case 1: {
        Topic* x = t.find(name);
        if (!x) {
          EXPECT_TRUE(m.local.empty() && m.remote == 0);
          break;
        }
        const bool had = m.local.count(slot) != 0;
        const bool last = t.remove_local(x, slot);
        if (had) m.local.erase(slot);
        EXPECT_EQ(last, had && m.local.empty());
        break;
      }
      case 2: {
        const uint32_t r = rng() % 4;
        const bool on = rng() % 2;
        t.set_remote(name, r, on);
        if (on)
          m.remote |= uint64_t(1) << r;
        else
          m.remote &= ~(uint64_t(1) << r);
        break;
      }
    }
    if (m.local.empty() && m.remote == 0) model.erase(name);
    // Whole-table check.
    size_t live = 0;
    for (const auto& [n, mm] : model) {
      Topic* x = t.find(n);
      ASSERT_NE(x, nullptr) << n;
      EXPECT_EQ(x->remote, mm.remote);
      EXPECT_EQ(sorted(x->local), std::vector<uint32_t>(mm.local.begin(), mm.local.end()));
      ++live;
    }
    ASSERT_EQ(t.size(), live) << "step " << step;
  }
}

}  // namespace
}  // namespace ringcast::pubsub
