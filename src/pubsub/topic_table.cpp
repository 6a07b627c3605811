#include "pubsub/topic_table.hpp"

#include <algorithm>

namespace ringcast::pubsub {

Topic* TopicTable::find(std::string_view name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

Topic* TopicTable::add_local(std::string_view name, uint32_t slot, bool* first) {
  Topic* t = find(name);
  if (!t) {
    auto owned = std::make_unique<Topic>();
    owned->name = std::string(name);
    t = owned.get();
    topics_.emplace(owned->name, std::move(owned));
  }
  *first = t->local.empty();
  t->local.push_back(slot);
  return t;
}

bool TopicTable::remove_local(Topic* t, uint32_t slot) {
  // Linear: a subscriber leaves once, and iteration speed (a flat vector)
  // is what every publish pays for.
  auto it = std::find(t->local.begin(), t->local.end(), slot);
  if (it == t->local.end()) return false;
  *it = t->local.back();
  t->local.pop_back();
  const bool last = t->local.empty();
  erase_if_unused(t);
  return last;
}

void TopicTable::set_remote(std::string_view name, uint32_t reactor, bool interested) {
  const uint64_t bit = uint64_t(1) << reactor;
  Topic* t = find(name);
  if (interested) {
    if (!t) {
      auto owned = std::make_unique<Topic>();
      owned->name = std::string(name);
      t = owned.get();
      topics_.emplace(owned->name, std::move(owned));
    }
    t->remote |= bit;
  } else if (t) {
    t->remote &= ~bit;
    erase_if_unused(t);
  }
}

void TopicTable::erase_if_unused(Topic* t) {
  if (!t->local.empty() || t->remote != 0) return;
  auto it = topics_.find(std::string_view(t->name));
  if (it != topics_.end()) topics_.erase(it);
}

}  // namespace ringcast::pubsub
