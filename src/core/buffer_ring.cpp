#include "core/buffer_ring.hpp"

#include <liburing.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ringcast::core {

namespace {

// The smallest power of two >= v, at most cap (a power of two).
uint32_t ceil_pow2(uint64_t v, uint32_t cap) {
  uint32_t p = 1;
  while (p < v && p < cap) p <<= 1;
  return p;
}

}  // namespace

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
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  stride_ = (size_t(buffer_bytes) + kRecvPadding + page - 1) & ~(page - 1);

  ring_bytes_ = count * sizeof(io_uring_buf);
  void* r = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED) return -errno;
  br_ = static_cast<io_uring_buf_ring*>(r);
  // Buffers are mapped, not allocated: pages the kernel never fills are never
  // resident, and released ones stop being so.
  void* b = mmap(nullptr, size_t(count) * stride_, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
  if (b == MAP_FAILED) return -errno;
  base_ = static_cast<uint8_t*>(b);
  // Touched sparsely (a page or so per buffer in use): huge pages would turn
  // each first touch into 2 MiB. Advice only, so a failure changes nothing.
  madvise(base_, size_t(count) * stride_, MADV_NOHUGEPAGE);

  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) return ret;
  io_uring_buf_ring_init(br_);

  // Everything starts on the stack, lowest id on top; publish() provides
  // the first kMinTarget.
  spare_.resize(count);
  for (uint32_t i = 0; i < count; ++i) spare_[i] = uint16_t(count - 1 - i);
  spare_size_ = count;
  resident_.assign(count, 0);
  scratch_.reserve(count);
  target_ = std::min(kMinTarget, count);
  low_water_ = spare_size_;
  publish(0);
  return 0;
}

void BufferRing::recycle(uint16_t id) {
  spare_[spare_size_++] = id;
  --provided_;
  ++used_;
}

void BufferRing::publish(uint64_t now_ms) {
  const uint32_t demand = used_ + short_;
  if (demand > peak_) peak_ = demand;
  // Grow at once: the next turn may be as busy, give it twice this one
  // (and, when the ring ran dry, at least twice what it held).
  uint64_t want = 2 * uint64_t(demand);
  if (short_ != 0) want = std::max(want, 2 * uint64_t(target_));
  if (want > target_) target_ = ceil_pow2(want, count_);
  used_ = 0;
  short_ = 0;
  if (now_ms - window_start_ms_ >= kWindowMs) end_window(now_ms);

  const int mask = io_uring_buf_ring_mask(count_);
  int added = 0;
  while (provided_ < target_ && spare_size_ > 0) {
    const uint16_t id = spare_[--spare_size_];
    io_uring_buf_ring_add(br_, buffer(id), buffer_bytes_, id, mask, added++);
    ++provided_;
    if (!resident_[id]) {
      resident_[id] = 1;
      ++resident_count_;
    }
  }
  if (spare_size_ < low_water_) low_water_ = spare_size_;
  if (added) io_uring_buf_ring_advance(br_, added);
}

void BufferRing::end_window(uint64_t now_ms) {
  // Shrink towards twice the window's busiest turn, by at most half per
  // window, so a short lull between bursts does not starve the next one.
  // Buffers above the target leave the ring as the kernel uses them.
  const uint32_t want = std::max(std::min(kMinTarget, count_), ceil_pow2(2 * uint64_t(peak_), count_));
  if (want < target_) target_ = std::max(want, target_ / 2);
  release_cold();
  peak_ = 0;
  low_water_ = spare_size_;
  window_start_ms_ = now_ms;
}

void BufferRing::release_cold() {
  // spare_[0, low_water_) were not taken off the stack for a whole window.
  scratch_.clear();
  for (uint32_t i = 0; i < low_water_; ++i) {
    const uint16_t id = spare_[i];
    if (resident_[id]) {
      resident_[id] = 0;
      scratch_.push_back(id);
    }
  }
  if (scratch_.empty()) return;
  resident_count_ -= uint32_t(scratch_.size());
  // One madvise per run of neighbouring buffers.
  std::sort(scratch_.begin(), scratch_.end());
  size_t run = 0;
  for (size_t i = 1; i <= scratch_.size(); ++i) {
    if (i < scratch_.size() && scratch_[i] == scratch_[i - 1] + 1) continue;
    madvise(buffer(scratch_[run]), (i - run) * stride_, MADV_DONTNEED);
    run = i;
  }
}

}  // namespace ringcast::core
