// Latency histogram, HDR style (log-linear), for values in nanoseconds.
//
// Range and precision: values from 1 us to 60 s (and beyond, up to 2^36 ns ~
// 68.7 s) are kept with 3 significant decimal digits: every power-of-two
// range [2^k, 2^(k+1)) for k >= 11 is cut into 1024 equal buckets, so a bucket
// is at most 1/1024 = 0.098% of its lower bound wide. Values below 2048 ns
// (k <= 10) get one bucket each, so they are exact. Larger values clamp into
// the last bucket and are counted in saturated(); min(), max() and mean() stay
// exact whatever the value.
//
// Percentiles use the nearest-rank rule: value_at_percentile(p) is the upper
// edge of the bucket holding the ceil(p/100 * count)-th smallest value,
// clamped to [min, max]; ranks 1 and count give min and max exactly. So it
// never under-reports, and over-reports by less than 0.1%.
//
// Memory: kBuckets = 27 x 1024 = 27,648 counters of 8 bytes = 216 KiB, fixed,
// inside the object (no allocation at all, so it can live in shared memory
// between processes). One per thread, merged with merge() after the threads
// have stopped; record() is not thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace load {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 10;                 // 1024 buckets per octave
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr unsigned kTopBits = 36;                 // 2^36 ns > 60 s
  static constexpr size_t kBuckets = (kTopBits - kSubBits + 1) * kSub;
  static constexpr uint64_t kLargest = (uint64_t{1} << kTopBits) - 1;
  static constexpr double kRelativePrecision = 1.0 / double(kSub);

  void record(uint64_t v) {
    ++counts_[index_of(v)];
    if (v > kLargest) ++saturated_;
    ++count_;
    sum_ += v;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }

  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    saturated_ += o.saturated_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
  }

  void reset() { *this = Histogram{}; }

  uint64_t count() const { return count_; }
  uint64_t saturated() const { return saturated_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }

  // pct in [0, 100]; 0 when empty.
  uint64_t value_at_percentile(double pct) const {
    if (count_ == 0) return 0;
    // The epsilon keeps 99.9% of 1000 at rank 999 despite 0.999 * 1000 not
    // being exactly 999 in binary floating point.
    double exact = std::clamp(pct, 0.0, 100.0) / 100.0 * double(count_);
    uint64_t rank = uint64_t(std::ceil(exact - 1e-9 * std::max(1.0, exact)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    if (rank == 1) return min_;  // the extremes are known exactly
    if (rank == count_) return max_;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(upper_edge(i), min_, max_);
    }
    return max_;
  }

  static size_t index_of(uint64_t v) {
    if (v < kSub) return size_t(v);
    if (v > kLargest) v = kLargest;
    unsigned msb = 63u - unsigned(std::countl_zero(v));
    return size_t((msb - kSubBits + 1) * kSub + ((v >> (msb - kSubBits)) & (kSub - 1)));
  }

  // Smallest and largest value that land in bucket idx.
  static uint64_t lower_edge(size_t idx) {
    if (idx < 2 * kSub) return idx;
    unsigned shift = unsigned(idx / kSub - 1);
    return (kSub + idx % kSub) << shift;
  }
  static uint64_t upper_edge(size_t idx) {
    if (idx < 2 * kSub) return idx;
    unsigned shift = unsigned(idx / kSub - 1);
    return lower_edge(idx) + (uint64_t{1} << shift) - 1;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t saturated_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace load
