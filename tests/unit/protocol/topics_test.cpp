// Topic names (protocol/topics.hpp): every tenant's channels, inboxes and
// presence feeds share one topic table, so make_topic must never give two
// different (tenant, kind, name) the same topic, and topic_channel must give
// a channel back only to the tenant that owns it.
//
// The tenants here are what the gateway lets through: a JWT's tenant_id must
// be a valid channel name (auth_phase.cpp), and the API's ?tenant_id= is any
// 1 to 128 bytes without '|' or control characters (api_dispatch.cpp).
// Channel names are valid_channel's: 1 to 128 of A-Z a-z 0-9 . _ - : / @.
// Agent and user ids come from tokens unchecked, so they may hold anything.
#include "protocol/topics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "protocol/error_code.hpp"

namespace ringcast::protocol {
namespace {

constexpr std::string_view kChannelAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-:/@";

std::string topic(std::string_view tenant, TopicKind kind, std::string_view name) {
  std::string out;
  make_topic(out, tenant, kind, name);
  return out;
}

// "" (no tenant), tenants that are prefixes of one another, tenants made of
// each punctuation mark a channel may hold, and API-only tenants with bytes a
// channel may not hold (but never '|').
std::vector<std::string> tenants() {
  return {"",      "a",     "b",      "ab",     "ac",   "acme", "acme2", "acme.corp", "x:y", "t/1",
          "u@v",   "-",     "_",      ".",      ":",    "/",    "@",     "A",         "0",   std::string(128, 't'),
          ">",     ">a:",   "a>b",    "t>p:x",  "my org", "q:", "room", "p",   "a:", ">u:bob"};
}

// Every valid name of one and two bytes, names that look like the tenants
// or like the inbox and presence prefixes, and random longer ones.
std::vector<std::string> channel_names() {
  std::vector<std::string> out;
  for (char c : kChannelAlphabet) out.emplace_back(1, c);
  for (char c : kChannelAlphabet)
    for (char d : kChannelAlphabet) out.push_back(std::string{c, d});
  for (const char* n : {"acme", "acme2", "acme.corp", "a:b", "a:bob", "p:room", "q:room", "u:bob", "acme/room",
                        "room", "lobby", "x:y", "t/1", "u@v"})
    out.emplace_back(n);
  out.push_back(std::string(128, 'c'));
  out.push_back(std::string(127, 'c'));
  std::mt19937 rng(20240613);
  std::uniform_int_distribution<size_t> len(3, 128), pick(0, kChannelAlphabet.size() - 1);
  for (int i = 0; i < 2000; ++i) {
    std::string n(len(rng), ' ');
    for (char& c : n) c = kChannelAlphabet[pick(rng)];
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Agent and user ids: any bytes, '|' and '>' included.
std::vector<std::string> identity_names() {
  std::vector<std::string> out = {"bob", "alice", "a", "acme", "room", ">", "|", "||", "a|b", "acme|room",
                                  ">a:bob", "|>a:bob", "x|>u:y", "p:room", "bob@example.com", "user 1"};
  out.push_back(std::string("nul\0byte", 8));
  return out;
}

const char* kind_name(TopicKind k) {
  switch (k) {
    case TopicKind::channel: return "channel";
    case TopicKind::agent: return "agent";
    case TopicKind::user: return "user";
    case TopicKind::presence: return "presence";
    case TopicKind::presence_flat: return "presence_flat";
  }
  return "?";
}

TEST(Topics, Shapes) {
  EXPECT_EQ(topic("", TopicKind::channel, "room"), "room") << "no tenant: the channel name itself";
  EXPECT_EQ(topic("acme", TopicKind::channel, "room"), "acme|room");
  EXPECT_EQ(topic("acme", TopicKind::agent, "bot"), "acme|>a:bot");
  EXPECT_EQ(topic("acme", TopicKind::user, "u1"), "acme|>u:u1");
  EXPECT_EQ(topic("acme", TopicKind::presence, "room"), "acme|>p:room");
  EXPECT_EQ(topic("acme", TopicKind::presence_flat, "room"), "acme|>q:room");
  EXPECT_EQ(topic("", TopicKind::agent, "bot"), "|>a:bot");
  EXPECT_EQ(topic("", TopicKind::user, "u1"), "|>u:u1");
  EXPECT_EQ(topic("", TopicKind::presence, "room"), "|>p:room");
  EXPECT_EQ(topic("", TopicKind::presence_flat, "room"), "|>q:room");
}

TEST(Topics, MakeTopicReplacesTheOutput) {
  std::string out = "something long that was here before";
  make_topic(out, "t", TopicKind::channel, "c");
  EXPECT_EQ(out, "t|c");
  make_topic(out, "", TopicKind::user, "u");
  EXPECT_EQ(out, "|>u:u");
  make_topic(out, "", TopicKind::channel, "c");
  EXPECT_EQ(out, "c");
}

TEST(Topics, TheNamesUsedHereAreValidChannels) {
  // The property tests below are only as good as their inputs.
  for (const std::string& n : channel_names()) ASSERT_TRUE(valid_channel(n)) << n;
  for (const std::string& t : tenants()) {
    ASSERT_EQ(t.find('|'), std::string::npos) << t;
    ASSERT_LE(t.size(), 128u) << t;
  }
}

// No two different (tenant, kind, name) share a topic: across tenants, with
// and without a tenant, and between channels, inboxes and presence feeds.
TEST(Topics, NeverCollide) {
  const std::vector<std::string> ts = tenants(), channels = channel_names(), ids = identity_names();
  using Owner = std::tuple<std::string, TopicKind, std::string>;
  std::unordered_map<std::string, Owner> seen;
  seen.reserve(ts.size() * (channels.size() * 3 + ids.size() * 2));
  size_t collisions = 0;
  auto add = [&](const std::string& tenant, TopicKind kind, const std::string& name) {
    const std::string t = topic(tenant, kind, name);
    const auto [it, fresh] = seen.try_emplace(t, tenant, kind, name);
    if (!fresh && it->second != Owner(tenant, kind, name) && ++collisions <= 10) {
      ADD_FAILURE() << "topic \"" << t << "\" is both (" << std::get<0>(it->second) << ", "
                    << kind_name(std::get<1>(it->second)) << ", " << std::get<2>(it->second) << ") and (" << tenant
                    << ", " << kind_name(kind) << ", " << name << ")";
    }
  };
  for (const std::string& tenant : ts) {
    for (const std::string& c : channels) {
      add(tenant, TopicKind::channel, c);
      add(tenant, TopicKind::presence, c);
      add(tenant, TopicKind::presence_flat, c);
    }
    for (const std::string& id : ids) {
      add(tenant, TopicKind::agent, id);
      add(tenant, TopicKind::user, id);
    }
  }
  EXPECT_EQ(collisions, 0u);
  EXPECT_EQ(seen.size(), ts.size() * (channels.size() * 3 + ids.size() * 2)) << "every topic distinct";
}

// topic_channel gives a channel topic's name back to its own tenant only.
TEST(Topics, ChannelBelongsToItsTenantOnly) {
  const std::vector<std::string> ts = tenants(), channels = channel_names();
  size_t failures = 0;
  for (const std::string& owner : ts) {
    for (const std::string& c : channels) {
      const std::string t = topic(owner, TopicKind::channel, c);
      for (const std::string& asker : ts) {
        const std::string_view got = topic_channel(t, asker);
        const std::string_view want = asker == owner ? std::string_view(c) : std::string_view();
        if (got != want && ++failures <= 10) {
          ADD_FAILURE() << "topic_channel(\"" << t << "\", \"" << asker << "\") = \"" << got << "\", want \"" << want
                        << "\"";
        }
      }
    }
  }
  EXPECT_EQ(failures, 0u);
}

// Inbox and presence topics are never a channel, for anyone.
TEST(Topics, InboxAndPresenceAreNeverChannels) {
  const std::vector<std::string> ts = tenants(), channels = channel_names(), ids = identity_names();
  size_t failures = 0;
  auto check = [&](const std::string& owner, TopicKind kind, const std::string& name) {
    const std::string t = topic(owner, kind, name);
    for (const std::string& asker : ts) {
      const std::string_view got = topic_channel(t, asker);
      if (!got.empty() && ++failures <= 10) {
        ADD_FAILURE() << "topic_channel(\"" << t << "\", \"" << asker << "\") = \"" << got << "\" for a "
                      << kind_name(kind) << " topic";
      }
    }
  };
  for (const std::string& owner : ts) {
    for (const std::string& c : channels) {
      check(owner, TopicKind::presence, c);
      check(owner, TopicKind::presence_flat, c);
    }
    for (const std::string& id : ids) {
      check(owner, TopicKind::agent, id);
      check(owner, TopicKind::user, id);
    }
  }
  EXPECT_EQ(failures, 0u);
}

TEST(Topics, TopicChannelEdges) {
  EXPECT_EQ(topic_channel("room", ""), "room");
  EXPECT_EQ(topic_channel("acme|room", "acme"), "room");
  EXPECT_EQ(topic_channel("acme|room", ""), "") << "a tenant's channel is not an untenanted one";
  EXPECT_EQ(topic_channel("room", "acme"), "") << "an untenanted channel is no tenant's";
  EXPECT_EQ(topic_channel("acme|", "acme"), "") << "no channel name";
  EXPECT_EQ(topic_channel("acme", "acme"), "");
  EXPECT_EQ(topic_channel("acm", "acme"), "");
  EXPECT_EQ(topic_channel("", "acme"), "");
  EXPECT_EQ(topic_channel("acme2|room", "acme"), "") << "a longer tenant with the same start";
  EXPECT_EQ(topic_channel("acme|room", "acm"), "") << "a shorter tenant with the same start";
  EXPECT_EQ(topic_channel("acme|room", "ACME"), "") << "tenants are compared exactly";
  EXPECT_EQ(topic_channel("acme|>a:bot", "acme"), "");
  EXPECT_EQ(topic_channel("|>a:bot", ""), "");
  // A view into the topic.
  const std::string t = "acme|room";
  const std::string_view ch = topic_channel(t, "acme");
  EXPECT_EQ(ch.data(), t.data() + 5);
}

}  // namespace
}  // namespace ringcast::protocol
