// A parcel: bytes one reactor hands to others through the mesh (a framed
// published message, or a topic name for an interest change). Written once
// by the sender, read-only afterwards, freed by the last reader; the only
// object in ringcast that crosses threads, hence the atomic count.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace ringcast::pubsub {

struct Parcel {
  std::atomic<uint32_t> refs;
  uint32_t topic_len;
  uint32_t frame_len;
  uint32_t reserved;
  uint64_t exclude;  // a connection id that must not receive it, or kNobody

  std::string_view topic() const { return {reinterpret_cast<const char*>(this + 1), topic_len}; }
  const uint8_t* frame() const { return reinterpret_cast<const uint8_t*>(this + 1) + topic_len; }
  uint8_t* frame() { return reinterpret_cast<uint8_t*>(this + 1) + topic_len; }

  // frame_len bytes follow the topic, to be written by the caller.
  static Parcel* make(std::string_view topic, uint32_t frame_len, uint32_t refs, uint64_t exclude) {
    void* mem = std::malloc(sizeof(Parcel) + topic.size() + frame_len);
    if (!mem) return nullptr;
    Parcel* p = new (mem) Parcel;
    p->refs.store(refs, std::memory_order_relaxed);
    p->topic_len = uint32_t(topic.size());
    p->frame_len = frame_len;
    p->reserved = 0;
    p->exclude = exclude;
    std::memcpy(reinterpret_cast<char*>(p + 1), topic.data(), topic.size());
    return p;
  }

  void release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      this->~Parcel();
      std::free(this);
    }
  }
};

}  // namespace ringcast::pubsub
