// Presence: per channel, who is online — members (user id, agent id) and how
// many connections each has — replicated on every worker reactor.
//
// Each reactor applies its own connections' changes to its replica and sends
// the same change to every other reactor as a PresenceDelta through the mesh;
// each of them applies it. Counts are sums, so replicas converge whatever the
// interleaving, provided each origin's deltas arrive in the order it sent them
// (the per-pair SPSC queues are FIFO and the spill list is retried in order):
// then a member's -1 from reactor r always follows r's matching +1 everywhere.
//
// Join/leave events: every replica reports the transitions it sees, but only
// the channel's home reactor (home_of) acts on them, so each event is emitted
// once and in one order. Races between origins can hide a flap on the home
// (A: +1, -1 and B: +1 may arrive as +1 +1 -1): no leave/join is emitted for
// it, which is what a presence list wants.
//
// Online/offline across every channel (seed 003: "when disconnected, the
// agent's status is automatically set to offline") needs nothing more: the
// caller applies each connection once more to a reserved topic of its choice
// per tenant (say "\x01agents/<tenant>"), whose join/leave are online/offline.
//
// Pure data: no I/O, no clock, no threads; a PresenceTable belongs to one
// reactor. Only PresenceDelta crosses threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ringcast::pubsub {

// One change: `change` connections of (user, agent) entered (> 0) or left
// (< 0) topic on reactor `origin`. Malloc'd in one block (header, then the
// topic, user and agent bytes), immutable after make(), freed by the last
// release(); like Parcel, the atomic count is what lets it cross threads.
struct PresenceDelta {
  std::atomic<uint32_t> refs;
  int32_t change;
  uint32_t origin;
  uint32_t topic_len;
  uint32_t user_len;
  uint32_t agent_len;

  std::string_view topic() const { return {bytes(), topic_len}; }
  std::string_view user() const { return {bytes() + topic_len, user_len}; }
  std::string_view agent() const { return {bytes() + topic_len + user_len, agent_len}; }

  // refs >= 1: one per reader that will call release(). nullptr if memory ran
  // out or the strings together do not fit in 4 GiB.
  static PresenceDelta* make(std::string_view topic, std::string_view user, std::string_view agent,
                             int32_t change, uint32_t origin, uint32_t refs);
  // Drops one reference; the last one frees the block.
  void release();

 private:
  const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
};

// The reactor that decides a topic's join/leave events: a fixed hash (FNV-1a
// 64 then a 64-bit finalizer, the same on every build and machine) of the
// topic, mod reactors. reactors == 0 answers 0.
uint32_t home_of(std::string_view topic, uint32_t reactors);

enum class PresenceEvent : uint8_t {
  none,
  join,   // the member's connection count went 0 -> positive
  leave,  // the member's connection count went positive -> 0
};

// One reactor's replica of the presence table. Lookups do not allocate; apply()
// allocates only when a topic or a member appears. A member with 0
// connections is removed and a topic with no member is freed.
class PresenceTable {
 public:
  // Adds `change` to the connection count of (user, agent) in topic and
  // returns the member's transition in this replica. A count never goes
  // negative: a decrement for an unknown member is ignored (returns none,
  // creates nothing), and one larger than the count takes it to 0 (leave).
  // A count saturates at UINT32_MAX. change == 0 does nothing.
  PresenceEvent apply(std::string_view topic, std::string_view user, std::string_view agent,
                      int32_t change);
  PresenceEvent apply(const PresenceDelta& d) { return apply(d.topic(), d.user(), d.agent(), d.change); }

  struct Member {
    std::string_view user, agent;  // valid until the next apply()
    uint32_t connections;          // > 0
  };
  // Calls f(const Member&) for each member of topic, ordered by user, then
  // agent (bytewise). f must not call apply() on this table.
  template <class F>
  void for_each_member(std::string_view topic, F&& f) const;

  size_t members(std::string_view topic) const;  // 0 for an unknown topic
  uint32_t connections(std::string_view topic, std::string_view user, std::string_view agent) const;

  size_t topics() const { return topics_.size(); }  // topics with at least one member
  size_t total_members() const { return total_members_; }

 private:
  // A member's ids in one string (user then agent), so a member costs one
  // map node and at most one more allocation.
  struct Key {
    std::string ids;
    uint32_t user_len;
    std::string_view user() const { return std::string_view(ids).substr(0, user_len); }
    std::string_view agent() const { return std::string_view(ids).substr(user_len); }
  };
  struct KeyView {
    std::string_view user, agent;
  };
  // Orders by (user, agent); transparent, so a lookup needs no Key.
  struct KeyLess {
    using is_transparent = void;
    static bool less(std::string_view u1, std::string_view a1, std::string_view u2, std::string_view a2) {
      const int c = u1.compare(u2);
      return c < 0 || (c == 0 && a1 < a2);
    }
    bool operator()(const Key& x, const Key& y) const { return less(x.user(), x.agent(), y.user(), y.agent()); }
    bool operator()(const Key& x, const KeyView& y) const { return less(x.user(), x.agent(), y.user, y.agent); }
    bool operator()(const KeyView& x, const Key& y) const { return less(x.user, x.agent, y.user(), y.agent()); }
  };
  using MemberMap = std::map<Key, uint32_t, KeyLess>;

  struct TopicHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using TopicMap = std::unordered_map<std::string, MemberMap, TopicHash, std::equal_to<>>;

  const MemberMap* find(std::string_view topic) const;

  TopicMap topics_;
  size_t total_members_ = 0;
};

template <class F>
void PresenceTable::for_each_member(std::string_view topic, F&& f) const {
  const MemberMap* m = find(topic);
  if (!m) return;
  for (const auto& [key, count] : *m) {
    const Member member{key.user(), key.agent(), count};
    f(member);
  }
}

}  // namespace ringcast::pubsub
