// One reactor's topic table: which of its own connections subscribe to each
// topic, and a replica of which other reactors have subscribers (a bitmask,
// kept current by interest messages through the mesh). A topic lives while
// either side is non-empty. Pure data: no I/O, no threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringcast::pubsub {

constexpr uint32_t kMaxReactors = 64;

struct Topic {
  std::string name;
  std::vector<uint32_t> local;  // subscriber slots on this reactor, unordered
  uint64_t remote = 0;          // bit r: reactor r has subscribers
};

class TopicTable {
 public:
  Topic* find(std::string_view name) const;

  // Adds slot to the topic's subscribers (creating the topic). Returns the
  // topic, with *first = true when it had no local subscriber before (the
  // 0 -> 1 transition other reactors must learn of). nullptr if memory ran out.
  Topic* add_local(std::string_view name, uint32_t slot, bool* first);
  // Removes slot; true when that was the last local subscriber (1 -> 0).
  // The topic may be freed: do not use it afterwards.
  bool remove_local(Topic* t, uint32_t slot);

  // Records (or clears) reactor r's interest, from an interest message.
  void set_remote(std::string_view name, uint32_t reactor, bool interested);

  size_t size() const { return topics_.size(); }
  // Calls f(const Topic&) for every topic (local or remote interest).
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [name, t] : topics_) f(*t);
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void erase_if_unused(Topic* t);

  std::unordered_map<std::string, std::unique_ptr<Topic>, Hash, std::equal_to<>> topics_;
};

}  // namespace ringcast::pubsub
