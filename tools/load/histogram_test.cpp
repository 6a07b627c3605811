// Histogram: exact distributions, the precision contract, merge.
#include "histogram.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>

namespace load {
namespace {

// 216 KiB each: keep them off the test's stack.
std::unique_ptr<Histogram> make() { return std::make_unique<Histogram>(); }

TEST(Histogram, EmptyReportsZero) {
  auto h = make();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->value_at_percentile(50), 0u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 0u);
  EXPECT_EQ(h->mean(), 0.0);
}

TEST(Histogram, SingleValueIsExactAtEveryPercentile) {
  auto h = make();
  const uint64_t v = 123'456'789;  // 123 ms: deep in the log-linear part
  h->record(v);
  for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) EXPECT_EQ(h->value_at_percentile(p), v) << p;
  EXPECT_EQ(h->min(), v);
  EXPECT_EQ(h->max(), v);
  EXPECT_EQ(h->mean(), double(v));
}

TEST(Histogram, UniformSmallValuesAreExact) {
  // 1..1000 all sit below 2048, one bucket per value: nearest-rank exactly.
  auto h = make();
  for (uint64_t v = 1; v <= 1000; ++v) h->record(v);
  EXPECT_EQ(h->count(), 1000u);
  EXPECT_EQ(h->value_at_percentile(50), 500u);
  EXPECT_EQ(h->value_at_percentile(90), 900u);
  EXPECT_EQ(h->value_at_percentile(99), 990u);
  EXPECT_EQ(h->value_at_percentile(99.9), 999u);
  EXPECT_EQ(h->value_at_percentile(100), 1000u);
  EXPECT_EQ(h->max(), 1000u);
  EXPECT_EQ(h->min(), 1u);
  EXPECT_DOUBLE_EQ(h->mean(), 500.5);
}

TEST(Histogram, UniformMicrosecondsWithinThreeDigits) {
  // 1 us .. 1 s in 1 us steps (1e6 values): percentile k is the value k/100 *
  // 1e9 ns; the answer is the upper edge of its bucket, never below it and
  // less than 0.1% above.
  auto h = make();
  const uint64_t n = 1'000'000;
  for (uint64_t i = 1; i <= n; ++i) h->record(i * 1000);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    uint64_t exact = uint64_t(p / 100 * double(n) + 0.5) * 1000;
    uint64_t got = h->value_at_percentile(p);
    EXPECT_EQ(got, Histogram::upper_edge(Histogram::index_of(exact))) << p;
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(double(got - exact), double(exact) * Histogram::kRelativePrecision) << p;
  }
  EXPECT_EQ(h->value_at_percentile(100), n * 1000);
  EXPECT_EQ(h->max(), n * 1000);
  EXPECT_EQ(h->min(), 1000u);
}

TEST(Histogram, EveryValueFallsInsideItsBucket) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    if (v > Histogram::kLargest) continue;
    size_t idx = Histogram::index_of(v);
    ASSERT_LT(idx, Histogram::kBuckets);
    ASSERT_LE(Histogram::lower_edge(idx), v);
    ASSERT_GE(Histogram::upper_edge(idx), v);
    uint64_t width = Histogram::upper_edge(idx) - Histogram::lower_edge(idx) + 1;
    ASSERT_LE(double(width - 1), double(Histogram::lower_edge(idx)) * Histogram::kRelativePrecision);
  }
}

TEST(Histogram, BucketsTileTheRange) {
  for (size_t i = 1; i < Histogram::kBuckets; ++i)
    ASSERT_EQ(Histogram::lower_edge(i), Histogram::upper_edge(i - 1) + 1) << i;
  EXPECT_EQ(Histogram::upper_edge(Histogram::kBuckets - 1), Histogram::kLargest);
}

TEST(Histogram, SixtySecondsFitsAndMaxIsExact) {
  auto h = make();
  const uint64_t sixty = 60'000'000'000;
  h->record(1000);
  h->record(sixty);
  EXPECT_EQ(h->saturated(), 0u);
  EXPECT_EQ(h->max(), sixty);
  EXPECT_EQ(h->value_at_percentile(100), sixty);
  EXPECT_EQ(h->value_at_percentile(50), 1000u);
  // Beyond the range: clamped into the last bucket, counted, max still exact.
  h->record(100'000'000'000);
  EXPECT_EQ(h->saturated(), 1u);
  EXPECT_EQ(h->max(), 100'000'000'000u);
  EXPECT_EQ(h->value_at_percentile(100), 100'000'000'000u);
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  auto a = make(), b = make(), all = make();
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = 1000 + rng() % 50'000'000;
    (i % 3 ? a : b)->record(v);
    all->record(v);
  }
  a->merge(*b);
  EXPECT_EQ(a->count(), all->count());
  EXPECT_EQ(a->min(), all->min());
  EXPECT_EQ(a->max(), all->max());
  EXPECT_DOUBLE_EQ(a->mean(), all->mean());
  for (double p : {0.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0})
    EXPECT_EQ(a->value_at_percentile(p), all->value_at_percentile(p)) << p;
}

TEST(Histogram, MergeIntoEmptyKeepsMin) {
  auto a = make(), b = make();
  b->record(5000);
  b->record(7000);
  a->merge(*b);
  EXPECT_EQ(a->min(), 5000u);
  EXPECT_EQ(a->value_at_percentile(0), 5000u);
  EXPECT_EQ(a->value_at_percentile(100), 7000u);
}

}  // namespace
}  // namespace load
