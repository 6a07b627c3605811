// Log-linear latency histogram in the HDR style, for the bench clients.
//
// Precision contract: values below 128 are stored exactly; above, every
// power-of-two range [2^k, 2^(k+1)) is split into 128 equal buckets, so a
// bucket is at most 1/128 = 0.78% of its lower bound wide. percentile()
// reports the bucket's upper edge: it never under-reports and over-reports by
// less than 0.79%. max() and mean() are exact. Values >= 2^42 (in ns: ~73
// minutes) are clamped into the last bucket.
//
// Fixed size (4608 x 8 bytes), no allocation after construction; one per
// thread, merged with add() after the threads have joined.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace bench {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr unsigned kMaxBits = 42;
  static constexpr size_t kBuckets = (kMaxBits - kSubBits + 1) * kSub;
  static constexpr double kRelativePrecision = 1.0 / kSub;

  void record(uint64_t v) {
    ++counts_[index_of(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
  }

  void add(const LatencyHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }

  // q in [0, 1]; 0 when empty.
  uint64_t percentile(double q) const {
    if (count_ == 0) return 0;
    uint64_t target = uint64_t(std::ceil(q * double(count_)));
    target = std::clamp<uint64_t>(target, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= target) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

  static size_t index_of(uint64_t v) {
    if (v < kSub) return size_t(v);
    unsigned msb = 63u - unsigned(std::countl_zero(v));
    if (msb >= kMaxBits) {
      msb = kMaxBits - 1;
      v = (uint64_t{1} << kMaxBits) - 1;
    }
    return size_t((msb - kSubBits + 1) * kSub + ((v >> (msb - kSubBits)) & (kSub - 1)));
  }

  static uint64_t upper_edge(size_t idx) {
    if (idx < kSub) return idx;
    uint64_t block = idx / kSub, sub = idx % kSub;
    unsigned shift = unsigned(block - 1);  // == msb - kSubBits
    return ((kSub + sub) << shift) + (uint64_t{1} << shift) - 1;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace bench
