#include "pubsub/presence.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace ringcast::pubsub {

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(alignof(PresenceDelta) <= alignof(std::max_align_t));

PresenceDelta* PresenceDelta::make(std::string_view topic, std::string_view user, std::string_view agent,
                                   int32_t change, uint32_t origin, uint32_t refs) {
  assert(refs >= 1);
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  const uint64_t text = uint64_t(topic.size()) + user.size() + agent.size();
  if (text > kMax) return nullptr;
  void* mem = std::malloc(sizeof(PresenceDelta) + size_t(text));
  if (!mem) return nullptr;
  PresenceDelta* d = new (mem) PresenceDelta;
  d->refs.store(refs, std::memory_order_relaxed);
  d->change = change;
  d->origin = origin;
  d->topic_len = uint32_t(topic.size());
  d->user_len = uint32_t(user.size());
  d->agent_len = uint32_t(agent.size());
  char* out = reinterpret_cast<char*>(d + 1);
  // memcpy with a null source is undefined even for 0 bytes (an empty view).
  if (!topic.empty()) std::memcpy(out, topic.data(), topic.size());
  if (!user.empty()) std::memcpy(out + topic.size(), user.data(), user.size());
  if (!agent.empty()) std::memcpy(out + topic.size() + user.size(), agent.data(), agent.size());
  return d;
}

void PresenceDelta::release() {
  // acq_rel: the last reader sees every other reader's accesses as done
  // before it frees the block.
  if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    this->~PresenceDelta();
    std::free(this);
  }
}

uint32_t home_of(std::string_view topic, uint32_t reactors) {
  if (reactors == 0) return 0;
  // FNV-1a 64: fixed and simple. Its low bits depend on few input bits (bit 0
  // is the parity of the bytes' bit 0), so mix with the murmur3 finalizer
  // before the modulo.
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : topic) {
    h ^= uint8_t(c);
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return uint32_t(h % reactors);
}

const PresenceTable::MemberMap* PresenceTable::find(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : &it->second;
}

PresenceEvent PresenceTable::apply(std::string_view topic, std::string_view user, std::string_view agent,
                                   int32_t change) {
  if (change == 0) return PresenceEvent::none;
  if (change < 0) {
    auto t = topics_.find(topic);
    if (t == topics_.end()) return PresenceEvent::none;
    MemberMap& members = t->second;
    auto m = members.find(KeyView{user, agent});
    if (m == members.end()) return PresenceEvent::none;
    const uint64_t drop = uint64_t(-int64_t(change));
    if (drop < m->second) {
      m->second -= uint32_t(drop);
      return PresenceEvent::none;
    }
    members.erase(m);
    --total_members_;
    if (members.empty()) topics_.erase(t);
    return PresenceEvent::leave;
  }

  if (user.size() > std::numeric_limits<uint32_t>::max()) return PresenceEvent::none;
  auto t = topics_.find(topic);
  if (t == topics_.end()) t = topics_.try_emplace(std::string(topic)).first;
  MemberMap& members = t->second;
  auto m = members.lower_bound(KeyView{user, agent});
  if (m != members.end() && m->first.user() == user && m->first.agent() == agent) {
    const uint64_t sum = uint64_t(m->second) + uint64_t(change);
    m->second = uint32_t(std::min<uint64_t>(sum, std::numeric_limits<uint32_t>::max()));
    return PresenceEvent::none;
  }
  Key key;
  key.ids.reserve(user.size() + agent.size());
  key.ids.append(user).append(agent);
  key.user_len = uint32_t(user.size());
  members.emplace_hint(m, std::move(key), uint32_t(change));
  ++total_members_;
  return PresenceEvent::join;
}

size_t PresenceTable::members(std::string_view topic) const {
  const MemberMap* m = find(topic);
  return m ? m->size() : 0;
}

uint32_t PresenceTable::connections(std::string_view topic, std::string_view user, std::string_view agent) const {
  const MemberMap* members = find(topic);
  if (!members) return 0;
  auto m = members->find(KeyView{user, agent});
  return m == members->end() ? 0 : m->second;
}

}  // namespace ringcast::pubsub
