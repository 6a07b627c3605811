#include "buf_ring.hpp"

#include <sys/mman.h>

#include <cstring>

namespace load {

std::string BufRing::init(io_uring* ring, uint32_t entries, uint32_t buf_size) {
  ring_ = ring;
  entries_ = entries;
  size_ = buf_size;
  map_bytes_ = size_t(entries) * sizeof(io_uring_buf);
  void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (m == MAP_FAILED) return std::string("mmap buffer ring: ") + std::strerror(errno);
  br_ = static_cast<io_uring_buf_ring*>(m);
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = entries;
  reg.bgid = kGroup;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0)
    return std::string("register provided buffer ring: ") + std::strerror(-rc) +
           " (needs Linux >= 5.19; multishot recv needs >= 6.0)";
  registered_ = true;
  data_.reset(new uint8_t[size_t(entries) * buf_size]);
  for (uint32_t i = 0; i < entries; ++i) recycle(uint16_t(i));
  publish();
  return {};
}

void BufRing::release() {
  if (registered_) io_uring_unregister_buf_ring(ring_, kGroup);
  registered_ = false;
}

BufRing::~BufRing() {
  if (br_) munmap(br_, map_bytes_);
}

}  // namespace load
