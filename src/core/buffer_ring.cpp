#include "core/buffer_ring.hpp"

#include <liburing.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace ringcast::core {

BufferRing::~BufferRing() {
  // No unregister: the ring goes first (Reactor's destructor) and takes the
  // registration with it.
  if (br_) munmap(br_, ring_bytes_);
  if (base_) munmap(base_, size_t(count_) * stride_);
}

int BufferRing::init(io_uring* ring, uint16_t group_id, uint32_t count, uint32_t buffer_bytes) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return -EINVAL;
  group_id_ = group_id;
  count_ = count;
  buffer_bytes_ = buffer_bytes;
  stride_ = (size_t(buffer_bytes) + kRecvPadding + 63) & ~size_t(63);

  ring_bytes_ = count * sizeof(io_uring_buf);
  void* r = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED) return -errno;
  br_ = static_cast<io_uring_buf_ring*>(r);
  // Buffers are mapped, not allocated: pages the kernel never fills are never
  // resident, so a quiet reactor's RSS stays small.
  void* b = mmap(nullptr, size_t(count) * stride_, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
  if (b == MAP_FAILED) return -errno;
  base_ = static_cast<uint8_t*>(b);

  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) return ret;
  io_uring_buf_ring_init(br_);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i)
    io_uring_buf_ring_add(br_, buffer(uint16_t(i)), buffer_bytes, uint16_t(i), mask, int(i));
  io_uring_buf_ring_advance(br_, int(count));
  return 0;
}

void BufferRing::recycle(uint16_t id) {
  io_uring_buf_ring_add(br_, buffer(id), buffer_bytes_, id, io_uring_buf_ring_mask(count_), int(pending_));
  ++pending_;
}

void BufferRing::publish() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, int(pending_));
  pending_ = 0;
}

}  // namespace ringcast::core
