// Output memory. A connection's output is a queue of segments, each a byte
// range of a reference-counted, immutable-once-queued buffer: an echo writes
// its frame into a buffer only that connection holds; a broadcast frames a
// message once and queues the same buffer on every subscriber. Buffers and
// segments come from per-reactor free lists, so a warm reactor does not
// allocate per message. Nothing here is thread-safe: one reactor owns it.
//
// Chunks come in two sizes. A write into an empty queue that fits a small
// chunk (a 101, a pong, a short reply or echo) takes one of those, so an
// upgrade or a ping does not tie up a 16 KiB chunk; more output for the same
// queue goes into full-size chunks. A free list keeps what the reactor used
// recently: chunks that stayed on it for a whole kTrimWindowMs are freed,
// so a burst's chunks do not stay with the reactor for good.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

namespace ringcast::core {

struct OutBuffer {
  uint32_t refs;
  uint32_t capacity;
  uint32_t used;
  uint32_t pooled;  // the free list it returns to: 0 none (freed), 1 chunks, 2 small chunks
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
  static constexpr uint32_t kSmallChunkBytes = 1024 - sizeof(OutBuffer);
  static constexpr uint32_t kMaxFreeChunks = 4096;  // per size
  static constexpr uint32_t kMaxFreeSegments = 65536;
  static constexpr uint64_t kTrimWindowMs = 1000;

  OutPool() = default;
  OutPool(const OutPool&) = delete;
  OutPool& operator=(const OutPool&) = delete;
  ~OutPool();

  // A buffer with at least min_bytes of room and one reference: a chunk,
  // or an unpooled buffer of exactly min_bytes when that is more.
  OutBuffer* acquire(size_t min_bytes);
  // A small chunk (kSmallChunkBytes of room) with one reference.
  OutBuffer* acquire_small();
  static void ref(OutBuffer* b) { ++b->refs; }
  void unref(OutBuffer* b);

  Segment* segment();
  void release(Segment* s);

  // Once per loop turn: at the end of each window, frees the chunks that
  // were not taken off the free lists during it.
  void trim(uint64_t now_ms);

  uint32_t free_chunks() const { return chunks_.count; }
  uint32_t free_small_chunks() const { return small_.count; }

 private:
  struct FreeList {
    OutBuffer* top = nullptr;  // linked through the first 8 data bytes
    uint32_t count = 0;
    uint32_t low = 0;  // the smallest count this window: the bottom `low` went unused
  };

  OutBuffer* pop(FreeList& l);
  static void trim(FreeList& l);

  FreeList chunks_;
  FreeList small_;
  Segment* free_segments_ = nullptr;
  uint32_t free_segment_count_ = 0;
  uint64_t window_start_ms_ = 0;
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
