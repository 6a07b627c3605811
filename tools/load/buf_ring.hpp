// A provided-buffer ring (IORING_REGISTER_PBUF_RING) for multishot recv.
//
// liburing 2.3 has no io_uring_setup_buf_ring(), so the ring memory is mapped
// here and registered by hand. The kernel picks a buffer per completion and
// names it in cqe->flags; the owner gives it back with recycle() once the
// bytes are consumed and makes the batch visible with publish(), once per
// completion batch. A connection therefore holds no receive memory of its
// own: 20,000 idle connections cost nothing here.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

namespace load {

class BufRing {
 public:
  static constexpr uint16_t kGroup = 0;

  BufRing() = default;
  BufRing(const BufRing&) = delete;
  BufRing& operator=(const BufRing&) = delete;
  ~BufRing();

  // entries: a power of two <= 32768. Empty string on success.
  std::string init(io_uring* ring, uint32_t entries, uint32_t buf_size);
  // Unregisters; call while the ring is still alive.
  void release();

  uint8_t* buffer(uint16_t bid) const { return data_.get() + size_t(bid) * size_; }
  uint32_t buf_size() const { return size_; }
  void recycle(uint16_t bid) {
    io_uring_buf_ring_add(br_, buffer(bid), size_, bid, io_uring_buf_ring_mask(entries_), pending_++);
  }
  void publish() {
    if (pending_) io_uring_buf_ring_advance(br_, pending_);
    pending_ = 0;
  }

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t map_bytes_ = 0;
  std::unique_ptr<uint8_t[]> data_;
  uint32_t entries_ = 0;
  uint32_t size_ = 0;
  int pending_ = 0;
  bool registered_ = false;
};

}  // namespace load
