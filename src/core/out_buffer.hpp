// Output memory. A connection's output is a queue of segments, each a byte
// range of a reference-counted, immutable-once-queued buffer: an echo writes
// its frame into a buffer only that connection holds; a broadcast frames a
// message once and queues the same buffer on every subscriber. Buffers and
// segments come from per-reactor free lists, so a warm reactor does not
// allocate per message. Nothing here is thread-safe: one reactor owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

namespace ringcast::core {

struct OutBuffer {
  uint32_t refs;
  uint32_t capacity;
  uint32_t used;
  uint32_t pooled;  // 1 when it returns to the pool's free list
  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
};

struct Segment {
  OutBuffer* buf;
  Segment* next;
  uint32_t offset;
  uint32_t length;
};

class OutPool {
 public:
  static constexpr uint32_t kChunkBytes = 16 * 1024 - sizeof(OutBuffer);
  static constexpr uint32_t kMaxFreeChunks = 4096;

  OutPool() = default;
  OutPool(const OutPool&) = delete;
  OutPool& operator=(const OutPool&) = delete;
  ~OutPool();

  // A buffer with at least min_bytes of room and one reference.
  OutBuffer* acquire(size_t min_bytes);
  static void ref(OutBuffer* b) { ++b->refs; }
  void unref(OutBuffer* b);

  Segment* segment();
  void release(Segment* s);

 private:
  OutBuffer* free_chunks_ = nullptr;  // linked through the first 8 data bytes
  uint32_t free_count_ = 0;
  Segment* free_segments_ = nullptr;
};

// A connection's queue of segments. 24 bytes.
class OutQueue {
 public:
  static constexpr int kMaxIov = 64;

  bool empty() const { return head_ == nullptr; }
  uint64_t bytes() const { return bytes_; }

  // Room for n contiguous bytes at the tail; write them, then commit(n).
  uint8_t* reserve(OutPool& pool, size_t n);
  void commit(size_t n);
  // Queues a range of a shared buffer (takes a reference).
  void append_shared(OutPool& pool, OutBuffer* b, uint32_t offset, uint32_t length);

  // Fills iov with the queued ranges, from the head. Returns the count.
  int gather(iovec* iov, int max_iov) const;
  // Drops n sent bytes from the head.
  void consume(OutPool& pool, size_t n);
  void clear(OutPool& pool);

 private:
  Segment* head_ = nullptr;
  Segment* tail_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace ringcast::core
