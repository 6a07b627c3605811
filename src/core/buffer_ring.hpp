// A provided-buffer ring (IORING_REGISTER_PBUF_RING): the kernel picks a
// receive buffer only when data arrives, so an idle connection holds none.
// Every buffer is followed by kRecvPadding spare bytes, so parsers that read
// in wide blocks (simdjson needs SIMDJSON_PADDING = 64) can run in place.
//
// Memory follows the traffic, not the ring's size. The kernel takes buffers
// in ring order, so a ring holding all `count` buffers would rotate through
// every one of them and, after enough small receives (request heads, pongs),
// keep a page of each resident (2048 x 4 KiB = 8 MiB per reactor) however
// few connections are active. Instead the ring holds `target` buffers: twice
// the busiest recent turn's demand (buffers filled plus receives that ended
// with -ENOBUFS), at least kMinTarget, at most `count`. It grows in the turn
// that needs more and shrinks by at most half per quiet window (kWindowMs);
// a buffer above the target leaves the ring when the kernel has used it.
// Buffers out of the ring wait on a LIFO stack, so the ones handed back to
// the kernel are those it touched last, and one that sat there for a whole
// window is given back to the system (MADV_DONTNEED). That is safe because
// the kernel cannot write to a buffer that is not in the ring; buffers in
// the ring are never released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

struct io_uring;
struct io_uring_buf_ring;

namespace ringcast::core {

constexpr size_t kRecvPadding = 64;

class BufferRing {
 public:
  // Buffers kept in the ring even when nothing arrives (or all of them, when
  // fewer): a quiet reactor answers a small burst without -ENOBUFS.
  static constexpr uint32_t kMinTarget = 64;
  // How long the target stays up after a busy turn, and how long a buffer
  // must sit unused before its pages go back to the system.
  static constexpr uint64_t kWindowMs = 1000;

  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // count must be a power of two (<= 32768). Returns 0 or -errno.
  int init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_bytes);

  uint8_t* buffer(uint16_t id) const { return base_ + size_t(id) * stride_; }
  uint32_t buffer_bytes() const { return buffer_bytes_; }
  uint16_t group_id() const { return group_id_; }

  // The kernel filled buffer `id` and its reader is done with it. Cheap (a
  // push); publish() decides whether it goes back into the ring.
  void recycle(uint16_t id);
  // A receive ended with -ENOBUFS: the ring ran dry this turn.
  void note_shortage() { ++short_; }
  // Once per loop turn, before submitting: adapts the target to this turn's
  // demand, tops the ring up to it, and at the end of each window gives
  // back the pages of buffers that were not used in it.
  void publish(uint64_t now_ms);

  // For tests and stats.
  uint32_t target() const { return target_; }
  uint32_t provided() const { return provided_; }    // in the ring or held by the kernel
  uint32_t resident() const { return resident_count_; }  // buffers that may hold pages

 private:
  void end_window(uint64_t now_ms);
  void release_cold();

  io_uring_buf_ring* br_ = nullptr;
  uint8_t* base_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t stride_ = 0;  // a whole number of pages, so a buffer's pages are its own
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint16_t group_id_ = 0;

  std::vector<uint16_t> spare_;    // ids not in the ring; the top is the most recently used
  std::vector<uint8_t> resident_;  // per id: provided since its pages were last released
  std::vector<uint16_t> scratch_;  // release_cold's sorted ids
  uint32_t spare_size_ = 0;
  uint32_t provided_ = 0;
  uint32_t target_ = 0;
  uint32_t resident_count_ = 0;
  uint32_t used_ = 0;   // recycled this turn
  uint32_t short_ = 0;  // -ENOBUFS this turn
  uint32_t peak_ = 0;   // the window's busiest turn
  uint32_t low_water_ = 0;  // the smallest spare_size_ this window: spare_[0, low_water_) went unused
  uint64_t window_start_ms_ = 0;
};

}  // namespace ringcast::core
