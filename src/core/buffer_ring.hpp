// A provided-buffer ring (IORING_REGISTER_PBUF_RING): the kernel picks a
// receive buffer only when data arrives, so an idle connection holds none.
// Every buffer is followed by kRecvPadding spare bytes, so parsers that read
// in wide blocks (simdjson needs SIMDJSON_PADDING = 64) can run in place.
#pragma once

#include <cstddef>
#include <cstdint>

struct io_uring;
struct io_uring_buf_ring;

namespace ringcast::core {

constexpr size_t kRecvPadding = 64;

class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // count must be a power of two (<= 32768). Returns 0 or -errno.
  int init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_bytes);

  uint8_t* buffer(uint16_t id) const { return base_ + size_t(id) * stride_; }
  uint32_t buffer_bytes() const { return buffer_bytes_; }
  uint16_t group_id() const { return group_id_; }

  // Gives a buffer back to the kernel. Cheap (a store and a release barrier);
  // publish() makes a batch visible.
  void recycle(uint16_t id);
  void publish();

 private:
  io_uring_buf_ring* br_ = nullptr;
  uint8_t* base_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t stride_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint32_t pending_ = 0;
  uint16_t group_id_ = 0;
};

}  // namespace ringcast::core
