// Presence: PresenceTable transitions, order and freeing against a multiset
// model; replicas fed by racing per-origin FIFO streams converge and the
// home replica's events alternate; home_of is fixed and spreads; a
// PresenceDelta is laid out, shared and freed across threads.
#include "pubsub/presence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <map>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

// Counts this thread's operator new calls while armed, so a test can check a
// lookup allocates nothing. Replaces the global operators for the whole
// unit_pubsub program; disarmed they only forward to malloc/free.
namespace {
thread_local bool g_count_news = false;
thread_local size_t g_news = 0;
void* counted_new(size_t n) {
  if (g_count_news) ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_new_nothrow(size_t n) noexcept {
  if (g_count_news) ++g_news;
  return std::malloc(n ? n : 1);
}
}  // namespace
void* operator new(size_t n) { return counted_new(n); }
void* operator new[](size_t n) { return counted_new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return counted_new_nothrow(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return counted_new_nothrow(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace ringcast::pubsub {
namespace {

using Members = std::vector<std::tuple<std::string, std::string, uint32_t>>;

Members list(const PresenceTable& t, std::string_view topic) {
  Members out;
  t.for_each_member(topic, [&](const PresenceTable::Member& m) {
    out.emplace_back(std::string(m.user), std::string(m.agent), m.connections);
  });
  return out;
}

// prefix + n, built by appending (GCC 12 warns, wrongly, about "t" + to_string).
std::string numbered(std::string prefix, uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

// ---- PresenceTable ------------------------------------------------------

TEST(Presence, EmptyTableKnowsNobody) {
  PresenceTable t;
  EXPECT_EQ(t.members("room"), 0u);
  EXPECT_EQ(t.connections("room", "u", "a"), 0u);
  EXPECT_TRUE(list(t, "room").empty());
  EXPECT_EQ(t.topics(), 0u);
  EXPECT_EQ(t.total_members(), 0u);
}

TEST(Presence, FirstConnectionJoinsLastLeaves) {
  PresenceTable t;
  EXPECT_EQ(t.apply("room", "u1", "agent-456", +1), PresenceEvent::join);
  EXPECT_EQ(t.apply("room", "u1", "agent-456", +1), PresenceEvent::none);
  EXPECT_EQ(t.connections("room", "u1", "agent-456"), 2u);
  EXPECT_EQ(t.members("room"), 1u);
  EXPECT_EQ(t.apply("room", "u1", "agent-456", -1), PresenceEvent::none);
  EXPECT_EQ(t.connections("room", "u1", "agent-456"), 1u);
  EXPECT_EQ(t.apply("room", "u1", "agent-456", -1), PresenceEvent::leave);
  EXPECT_EQ(t.connections("room", "u1", "agent-456"), 0u);
  EXPECT_EQ(t.members("room"), 0u);
  // The empty topic is freed.
  EXPECT_EQ(t.topics(), 0u);
  EXPECT_EQ(t.total_members(), 0u);
  // And comes back.
  EXPECT_EQ(t.apply("room", "u1", "agent-456", +1), PresenceEvent::join);
  EXPECT_EQ(t.topics(), 1u);
}

TEST(Presence, DecrementOfAnUnknownMemberIsIgnored) {
  PresenceTable t;
  EXPECT_EQ(t.apply("room", "u1", "a", -1), PresenceEvent::none);  // unknown topic
  EXPECT_EQ(t.topics(), 0u);                                       // nothing created
  t.apply("room", "u1", "a", +1);
  EXPECT_EQ(t.apply("room", "u2", "a", -1), PresenceEvent::none);  // unknown user
  EXPECT_EQ(t.apply("room", "u1", "b", -1), PresenceEvent::none);  // unknown agent
  EXPECT_EQ(t.members("room"), 1u);
  EXPECT_EQ(t.connections("room", "u1", "a"), 1u);
  // After the leave, another -1 does not go negative nor emit a second leave.
  EXPECT_EQ(t.apply("room", "u1", "a", -1), PresenceEvent::leave);
  EXPECT_EQ(t.apply("room", "u1", "a", -1), PresenceEvent::none);
  EXPECT_EQ(t.apply("room", "u1", "a", +1), PresenceEvent::join);
  EXPECT_EQ(t.connections("room", "u1", "a"), 1u);
}

TEST(Presence, LargeChangesClampAndSaturate) {
  PresenceTable t;
  EXPECT_EQ(t.apply("r", "u", "a", 0), PresenceEvent::none);
  EXPECT_EQ(t.topics(), 0u);
  EXPECT_EQ(t.apply("r", "u", "a", 3), PresenceEvent::join);
  EXPECT_EQ(t.apply("r", "u", "a", -2), PresenceEvent::none);
  EXPECT_EQ(t.apply("r", "u", "a", -5), PresenceEvent::leave);  // 1 - 5 stops at 0
  EXPECT_EQ(t.members("r"), 0u);
  EXPECT_EQ(t.apply("r", "u", "a", INT32_MIN), PresenceEvent::none);
  EXPECT_EQ(t.apply("r", "u", "a", INT32_MAX), PresenceEvent::join);
  EXPECT_EQ(t.apply("r", "u", "a", INT32_MAX), PresenceEvent::none);
  EXPECT_EQ(t.apply("r", "u", "a", 2), PresenceEvent::none);
  EXPECT_EQ(t.connections("r", "u", "a"), UINT32_MAX);
  EXPECT_EQ(t.apply("r", "u", "a", INT32_MIN), PresenceEvent::none);
  EXPECT_EQ(t.connections("r", "u", "a"), UINT32_MAX - 0x80000000u);
  EXPECT_EQ(t.apply("r", "u", "a", INT32_MIN), PresenceEvent::leave);
  EXPECT_EQ(t.topics(), 0u);
}

TEST(Presence, MembersAreOrderedByUserThenAgent) {
  PresenceTable t;
  // ("a", "bc") and ("ab", "c") spell the same bytes run together: distinct
  // members, and "a" sorts before "ab" whatever the agents.
  t.apply("r", "ab", "c", +1);
  t.apply("r", "a", "bc", +1);
  t.apply("r", "a", "bc", +1);
  t.apply("r", "b", "", +1);
  t.apply("r", "a", "z", +1);
  t.apply("r", "", "x", +1);
  t.apply("other", "a", "a", +1);
  EXPECT_EQ(list(t, "r"), (Members{{"", "x", 1},
                                   {"a", "bc", 2},
                                   {"a", "z", 1},
                                   {"ab", "c", 1},
                                   {"b", "", 1}}));
  EXPECT_EQ(t.connections("r", "a", "bc"), 2u);
  EXPECT_EQ(t.connections("r", "ab", "c"), 1u);
  EXPECT_EQ(t.connections("r", "abc", ""), 0u);
  EXPECT_EQ(t.connections("r", "", "abc"), 0u);
  EXPECT_EQ(t.members("r"), 5u);
  EXPECT_EQ(t.members("other"), 1u);
  EXPECT_EQ(t.total_members(), 6u);
  EXPECT_EQ(t.topics(), 2u);
}

TEST(Presence, TopicsAndIdsAreBytes) {
  PresenceTable t;
  const std::string nul_topic("r\0x", 3);
  const std::string nul_user("u\0", 2);
  EXPECT_EQ(t.apply(nul_topic, nul_user, "a", +1), PresenceEvent::join);
  EXPECT_EQ(t.members("r"), 0u);
  EXPECT_EQ(t.connections(nul_topic, "u", "a"), 0u);
  EXPECT_EQ(t.connections(nul_topic, nul_user, "a"), 1u);
  // A view into a longer buffer finds the same entry.
  const std::string buf = "room-and-more";
  t.apply("room", "user", "agent", +1);
  EXPECT_EQ(t.connections(std::string_view(buf).substr(0, 4), "user-x", "agent"), 0u);
  EXPECT_EQ(t.connections(std::string_view(buf).substr(0, 4), std::string_view("user-x").substr(0, 4), "agent"), 1u);
}

TEST(Presence, LookupsDoNotAllocate) {
  PresenceTable t;
  const std::string long_topic(100, 't'), long_user(100, 'u'), long_agent(100, 'a');
  t.apply(long_topic, long_user, long_agent, +1);
  t.apply(long_topic, long_user, long_agent, +1);
  for (int i = 0; i < 100; ++i) t.apply(long_topic, numbered(long_user, i), long_agent, +1);
  size_t seen = 0, sum = 0;
  g_news = 0;
  g_count_news = true;
  sum += t.connections(long_topic, long_user, long_agent);
  sum += t.connections(long_topic, long_user, "nobody");
  sum += t.connections("no such topic, long enough to not fit in SSO", long_user, long_agent);
  sum += t.members(long_topic);
  t.for_each_member(long_topic, [&](const PresenceTable::Member& m) { seen += m.connections; });
  // Count changes on existing members and an ignored decrement do not allocate either.
  t.apply(long_topic, long_user, long_agent, +1);
  t.apply(long_topic, long_user, long_agent, -1);
  t.apply(long_topic, "stranger", long_agent, -1);
  t.apply("no such topic, long enough to not fit in SSO", long_user, long_agent, -1);
  g_count_news = false;
  EXPECT_EQ(g_news, 0u);
  EXPECT_EQ(sum, 2u + 101u);
  EXPECT_EQ(seen, 102u);
  // The counter works (a join allocates a member node).
  g_news = 0;
  g_count_news = true;
  t.apply(long_topic, "new user", long_agent, +1);
  g_count_news = false;
  EXPECT_GT(g_news, 0u);
}

TEST(Presence, ApplyADelta) {
  PresenceTable t;
  PresenceDelta* d = PresenceDelta::make("room", "u1", "a1", +1, 3, 1);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(t.apply(*d), PresenceEvent::join);
  d->release();
  EXPECT_EQ(t.connections("room", "u1", "a1"), 1u);
}

// Key -> connection count, the simple model: a multiset of connections.
using ModelKey = std::tuple<std::string, std::string, std::string>;  // topic, user, agent
using Model = std::map<ModelKey, int64_t>;

// Whole-table comparison: the topics, their members in order, the counts.
void expect_matches(const PresenceTable& t, const Model& model, const std::vector<std::string>& topics) {
  size_t live_members = 0;
  std::map<std::string, Members> want;
  for (const auto& [k, n] : model) {
    if (n <= 0) continue;
    want[std::get<0>(k)].emplace_back(std::get<1>(k), std::get<2>(k), uint32_t(n));
    ++live_members;
  }
  EXPECT_EQ(t.total_members(), live_members);
  EXPECT_EQ(t.topics(), want.size());
  for (const std::string& topic : topics) {
    auto it = want.find(topic);
    const Members expected = it == want.end() ? Members{} : it->second;  // std::map order = (user, agent)
    EXPECT_EQ(list(t, topic), expected) << topic;
    EXPECT_EQ(t.members(topic), expected.size()) << topic;
  }
}

TEST(Presence, MatchesAMultisetModel) {
  std::mt19937 rng(20240603);
  PresenceTable t;
  Model model;
  std::vector<std::string> topics, users, agents;
  for (int i = 0; i < 5; ++i) topics.push_back(numbered("tenant-1/room:", i));
  for (int i = 0; i < 6; ++i) users.push_back(i == 5 ? std::string(40, 'x') : numbered("u", i));  // one id off SSO
  for (int i = 0; i < 3; ++i) agents.push_back(numbered("agent-", i));
  const int32_t changes[] = {+1, +1, +1, -1, -1, -1, -1, +2, -3, 0};
  for (int step = 0; step < 50000; ++step) {
    const ModelKey key{topics[rng() % topics.size()], users[rng() % users.size()], agents[rng() % agents.size()]};
    const int32_t change = changes[rng() % std::size(changes)];
    int64_t& n = model[key];
    const int64_t before = n;
    n = std::max<int64_t>(0, n + change);
    const PresenceEvent want = before == 0 && n > 0   ? PresenceEvent::join
                               : before > 0 && n == 0 ? PresenceEvent::leave
                                                      : PresenceEvent::none;
    ASSERT_EQ(t.apply(std::get<0>(key), std::get<1>(key), std::get<2>(key), change), want)
        << "step " << step << " change " << change << " before " << before;
    ASSERT_EQ(t.connections(std::get<0>(key), std::get<1>(key), std::get<2>(key)), uint64_t(n));
    if (n == 0) model.erase(key);
    if (step % 97 == 0) {
      expect_matches(t, model, topics);
      if (HasFailure()) FAIL() << "step " << step;
    }
  }
  expect_matches(t, model, topics);
  // Everyone leaves: the table is empty again.
  for (const auto& [k, n] : model)
    EXPECT_EQ(t.apply(std::get<0>(k), std::get<1>(k), std::get<2>(k), -int32_t(n)), PresenceEvent::leave);
  EXPECT_EQ(t.topics(), 0u);
  EXPECT_EQ(t.total_members(), 0u);
}

// R reactors, each opening and closing its own connections; every change goes
// to the others through per-pair FIFO queues delivered in a random
// interleaving (what the mesh guarantees, and no more). Every replica ends
// equal to the model, no decrement is ever ignored, and the home reactor's
// events for a member alternate join, leave, join... and match its final state.
TEST(Presence, ReplicasFedByRacingStreamsConverge) {
  constexpr uint32_t R = 4;
  std::mt19937 rng(7);
  std::vector<PresenceTable> replicas(R);
  std::deque<PresenceDelta*> queue[R][R];        // [from][to]
  std::map<ModelKey, uint32_t> open[R];          // connections each reactor holds
  std::map<ModelKey, PresenceEvent> last_event;  // home's last event per member
  Model model;
  std::vector<std::string> topics;
  for (int i = 0; i < 6; ++i) topics.push_back(numbered("chan:", i));
  size_t events = 0;

  auto note = [&](uint32_t reactor, const ModelKey& key, PresenceEvent e) {
    if (reactor != home_of(std::get<0>(key), R) || e == PresenceEvent::none) return;
    ++events;
    auto it = last_event.find(key);
    const PresenceEvent prev = it == last_event.end() ? PresenceEvent::leave : it->second;
    EXPECT_NE(prev, e) << "two " << (e == PresenceEvent::join ? "joins" : "leaves") << " in a row";
    last_event[key] = e;
  };
  auto deliver_one = [&](uint32_t from, uint32_t to) {
    PresenceDelta* d = queue[from][to].front();
    queue[from][to].pop_front();
    EXPECT_EQ(d->origin, from);
    const ModelKey key{std::string(d->topic()), std::string(d->user()), std::string(d->agent())};
    const uint32_t before = replicas[to].connections(d->topic(), d->user(), d->agent());
    note(to, key, replicas[to].apply(*d));
    if (d->change < 0) {
      EXPECT_GT(before, 0u) << "a decrement arrived before its increment";
    }
    d->release();
  };

  for (int step = 0; step < 40000; ++step) {
    const uint32_t r = rng() % R;
    if (rng() % 3 == 0) {  // deliver some pending deltas to r, from random origins
      for (int k = 0; k < 3; ++k) {
        const uint32_t from = rng() % R;
        if (from != r && !queue[from][r].empty()) deliver_one(from, r);
      }
      continue;
    }
    const ModelKey key{topics[rng() % topics.size()], numbered("u", rng() % 4), numbered("a", rng() % 2)};
    // Only close what this reactor opened; at most 2 each, so members often
    // drop to 0 everywhere.
    const uint32_t mine = open[r][key];
    const int32_t change = mine >= 2 || (mine > 0 && rng() % 4 != 0) ? -1 : +1;
    open[r][key] += change;
    model[key] += change;
    note(r, key, replicas[r].apply(std::get<0>(key), std::get<1>(key), std::get<2>(key), change));
    PresenceDelta* d = PresenceDelta::make(std::get<0>(key), std::get<1>(key), std::get<2>(key), change, r, R - 1);
    ASSERT_NE(d, nullptr);
    for (uint32_t to = 0; to < R; ++to)
      if (to != r) queue[r][to].push_back(d);
  }
  // Drain in a random interleaving.
  for (;;) {
    std::vector<std::pair<uint32_t, uint32_t>> pending;
    for (uint32_t f = 0; f < R; ++f)
      for (uint32_t to = 0; to < R; ++to)
        if (!queue[f][to].empty()) pending.emplace_back(f, to);
    if (pending.empty()) break;
    const auto [f, to] = pending[rng() % pending.size()];
    deliver_one(f, to);
  }

  for (auto it = model.begin(); it != model.end();) it = it->second == 0 ? model.erase(it) : std::next(it);
  for (uint32_t r = 0; r < R; ++r) {
    SCOPED_TRACE(r);
    expect_matches(replicas[r], model, topics);
  }
  // The home's last event says whether the member is present.
  for (const auto& [key, e] : last_event) EXPECT_EQ(e == PresenceEvent::join, model.count(key) == 1);
  EXPECT_GT(events, 500u);  // 1,200 with this seed
}

// ---- home_of --------------------------------------------------------------

TEST(PresenceHome, FixedValues) {
  // The same on every build and machine (a future cluster link may rely on
  // it): these were computed by an independent Python implementation.
  struct Case {
    const char* topic;
    uint32_t homes[5];  // for 2, 3, 8, 64, 1000 reactors
  };
  const Case cases[] = {
      {"", {0, 2, 6, 38, 342}},
      {"news", {1, 2, 7, 47, 983}},
      {"tenant-1/room:42", {1, 2, 1, 25, 113}},
      {"acme/agents", {1, 2, 3, 3, 219}},
      {"chat:general", {1, 1, 5, 37, 485}},
  };
  const uint32_t reactors[] = {2, 3, 8, 64, 1000};
  for (const Case& c : cases)
    for (size_t i = 0; i < std::size(reactors); ++i)
      EXPECT_EQ(home_of(c.topic, reactors[i]), c.homes[i]) << c.topic << " / " << reactors[i];
}

TEST(PresenceHome, InRangeAndStable) {
  EXPECT_EQ(home_of("anything", 0), 0u);
  EXPECT_EQ(home_of("anything", 1), 0u);
  for (uint32_t n = 1; n <= 64; ++n) {
    for (int i = 0; i < 200; ++i) {
      const std::string topic = numbered("room:", i);
      const uint32_t h = home_of(topic, n);
      EXPECT_LT(h, n);
      EXPECT_EQ(home_of(std::string(topic), n), h);  // depends on the bytes only
    }
  }
}

TEST(PresenceHome, SpreadsSequentialNames) {
  // Sequential names (the worst case for a weak hash's low bits) spread like
  // random ones: every reactor's count within 5 standard deviations of the
  // mean (a uniform random home would fail this about once in 10^5 runs).
  constexpr int kTopics = 100000;
  for (uint32_t n : {2u, 3u, 4u, 8u, 12u, 16u, 64u}) {
    std::vector<int> count(n);
    for (int i = 0; i < kTopics; ++i) ++count[home_of(numbered("tenant-7/room:", i), n)];
    const double mean = double(kTopics) / n;
    const double slack = 5 * std::sqrt(mean * (1 - 1.0 / n));
    for (uint32_t r = 0; r < n; ++r) {
      EXPECT_GT(count[r], mean - slack) << n << " reactors, reactor " << r;
      EXPECT_LT(count[r], mean + slack) << n << " reactors, reactor " << r;
    }
  }
}

// ---- PresenceDelta --------------------------------------------------------

TEST(PresenceDelta, LaysOutItsFields) {
  PresenceDelta* d = PresenceDelta::make("tenant-1/room:42", "user-123", "agent-456", -1, 5, 1);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->topic(), "tenant-1/room:42");
  EXPECT_EQ(d->user(), "user-123");
  EXPECT_EQ(d->agent(), "agent-456");
  EXPECT_EQ(d->change, -1);
  EXPECT_EQ(d->origin, 5u);
  EXPECT_EQ(d->refs.load(), 1u);
  d->release();

  PresenceDelta* e = PresenceDelta::make({}, {}, {}, +1, 0, 1);  // empty views (null data)
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->topic(), "");
  EXPECT_EQ(e->user(), "");
  EXPECT_EQ(e->agent(), "");
  e->release();

  PresenceDelta* f = PresenceDelta::make("t", "", "a", +1, 0, 1);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->topic(), "t");
  EXPECT_EQ(f->user(), "");
  EXPECT_EQ(f->agent(), "a");
  f->release();
}

TEST(PresenceDelta, LastOfManyReleasesFrees) {
  PresenceDelta* d = PresenceDelta::make("t", "u", "a", +1, 0, 3);
  ASSERT_NE(d, nullptr);
  d->release();
  d->release();
  EXPECT_EQ(d->refs.load(), 1u);
  EXPECT_EQ(d->user(), "u");
  d->release();  // freed: ASan/LSan in the sanitizer build see a leak or a double free
}

TEST(PresenceDelta, ReleasedFromTwoThreads) {
  // Each delta is shared by two readers that read it and then release it, in
  // opposite orders so both threads are often the last one. Under the
  // sanitizers, a free before the other reader is done or a missed free fails.
  constexpr int kDeltas = 20000;
  std::vector<PresenceDelta*> deltas;
  deltas.reserve(kDeltas);
  for (int i = 0; i < kDeltas; ++i) {
    const std::string topic = numbered("room:", i);
    deltas.push_back(PresenceDelta::make(topic, "user", "agent", i % 2 ? +1 : -1, uint32_t(i % 7), 2));
    ASSERT_NE(deltas.back(), nullptr);
  }
  auto reader = [&](bool forward, size_t* sum) {
    for (int k = 0; k < kDeltas; ++k) {
      PresenceDelta* d = deltas[size_t(forward ? k : kDeltas - 1 - k)];
      *sum += d->topic().size() + d->user().size() + d->agent().size() + d->origin + uint32_t(d->change + 1);
      d->release();
    }
  };
  size_t a = 0, b = 0;
  std::thread t1(reader, true, &a);
  std::thread t2(reader, false, &b);
  t1.join();
  t2.join();
  EXPECT_EQ(a, b);
  EXPECT_GT(a, 0u);
}

}  // namespace
}  // namespace ringcast::pubsub
