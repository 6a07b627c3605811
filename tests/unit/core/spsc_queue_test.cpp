#include "core/spsc_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace ringcast::core {
namespace {

TEST(SpscQueue, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscQueue<int>(0).capacity(), 1u);
  EXPECT_EQ(SpscQueue<int>(1).capacity(), 1u);
  EXPECT_EQ(SpscQueue<int>(2).capacity(), 2u);
  EXPECT_EQ(SpscQueue<int>(3).capacity(), 4u);
  EXPECT_EQ(SpscQueue<int>(64).capacity(), 64u);
  EXPECT_EQ(SpscQueue<int>(65).capacity(), 128u);
  EXPECT_EQ(SpscQueue<int>(1000).capacity(), 1024u);
}

TEST(SpscQueue, IndicesLiveOnSeparateCacheLines) {
  // Three lines: constants, producer index, consumer index.
  EXPECT_EQ(alignof(SpscQueue<uint64_t>), 64u);
  EXPECT_EQ(sizeof(SpscQueue<uint64_t>), 3 * 64u);
}

TEST(SpscQueue, PopFromEmptyFails) {
  SpscQueue<uint64_t> q(8);
  uint64_t v = 42;
  EXPECT_TRUE(q.empty_approx());
  EXPECT_FALSE(q.try_pop(v));
  EXPECT_EQ(v, 42u);  // untouched on failure
  uint64_t batch[4];
  EXPECT_EQ(q.pop_batch(batch, 4), 0u);
}

TEST(SpscQueue, FillsToExactlyCapacity) {
  SpscQueue<uint64_t> q(5);  // rounds to 8
  ASSERT_EQ(q.capacity(), 8u);
  for (uint64_t i = 0; i < 8; ++i) EXPECT_TRUE(q.try_push(i)) << i;
  EXPECT_FALSE(q.try_push(99));
  EXPECT_FALSE(q.empty_approx());

  // One pop frees exactly one slot.
  uint64_t v = 0;
  ASSERT_TRUE(q.try_pop(v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(q.try_push(8));
  EXPECT_FALSE(q.try_push(99));

  for (uint64_t i = 1; i <= 8; ++i) {
    ASSERT_TRUE(q.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(q.try_pop(v));
  EXPECT_TRUE(q.empty_approx());
}

TEST(SpscQueue, CapacityOneAlternates) {
  SpscQueue<int> q(1);
  int v = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(q.try_push(i));
    ASSERT_FALSE(q.try_push(-1));
    ASSERT_TRUE(q.try_pop(v));
    ASSERT_EQ(v, i);
    ASSERT_FALSE(q.try_pop(v));
  }
}

TEST(SpscQueue, WrapsAroundOverManyCycles) {
  // Chunk sizes coprime with the capacity, so every slot offset is the
  // start and the end of a run at some point.
  SpscQueue<uint64_t> q(8);
  uint64_t next_in = 0, next_out = 0;
  for (int cycle = 0; cycle < 10000; ++cycle) {
    const int pushes = 1 + cycle % 7;
    const int pops = 1 + (cycle * 3) % 7;
    for (int i = 0; i < pushes; ++i) {
      if (!q.try_push(next_in)) break;
      ++next_in;
    }
    for (int i = 0; i < pops; ++i) {
      uint64_t v = 0;
      if (!q.try_pop(v)) break;
      ASSERT_EQ(v, next_out);
      ++next_out;
    }
    ASSERT_LE(next_in - next_out, q.capacity());
  }
  uint64_t v = 0;
  while (q.try_pop(v)) ASSERT_EQ(v, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_GT(next_in, 10u * q.capacity());
}

TEST(SpscQueue, PopBatchPartialAndFull) {
  SpscQueue<uint64_t> q(8);
  uint64_t out[16] = {};

  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(q.try_push(i));
  // Fewer available than asked: takes what is there.
  ASSERT_EQ(q.pop_batch(out, 16), 5u);
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], i);
  EXPECT_EQ(q.pop_batch(out, 16), 0u);

  // More available than asked: takes max, leaves the rest in order. The
  // head is now at 5, so this batch of 8 wraps the array end.
  for (uint64_t i = 10; i < 18; ++i) ASSERT_TRUE(q.try_push(i));
  ASSERT_FALSE(q.try_push(99));
  ASSERT_EQ(q.pop_batch(out, 3), 3u);
  EXPECT_EQ(out[0], 10u);
  EXPECT_EQ(out[1], 11u);
  EXPECT_EQ(out[2], 12u);
  ASSERT_EQ(q.pop_batch(out, 0), 0u);
  ASSERT_EQ(q.pop_batch(out, 5), 5u);  // full remainder, across the wrap
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], 13 + i);
  EXPECT_TRUE(q.empty_approx());

  // A full queue drained in one batch frees every slot at once.
  for (uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(q.try_push(100 + i));
  ASSERT_EQ(q.pop_batch(out, 8), 8u);
  for (uint64_t i = 0; i < 8; ++i) EXPECT_EQ(out[i], 100 + i);
  for (uint64_t i = 0; i < 8; ++i) EXPECT_TRUE(q.try_push(i));
}

// Two-thread stress. A small queue keeps both sides bouncing off the
// full and empty edges, where the cached-index refreshes happen.
constexpr uint64_t kStressItems = 5'000'000;
constexpr size_t kStressCapacity = 64;

void produce(SpscQueue<uint64_t>& q) {
  for (uint64_t i = 0; i < kStressItems; ++i) {
    while (!q.try_push(i)) std::this_thread::yield();
  }
}

TEST(SpscQueue, TwoThreadsSequentialTryPop) {
  SpscQueue<uint64_t> q(kStressCapacity);
  std::thread producer(produce, std::ref(q));

  // Check in the loop without gtest macros (slow, and we want one report),
  // then assert once.
  uint64_t expected = 0;
  uint64_t first_bad = ~uint64_t{0}, got_bad = 0;
  while (expected < kStressItems) {
    uint64_t v;
    if (!q.try_pop(v)) {
      std::this_thread::yield();
      continue;
    }
    if (v != expected && first_bad == ~uint64_t{0}) {
      first_bad = expected;
      got_bad = v;
    }
    ++expected;
  }
  producer.join();

  EXPECT_EQ(first_bad, ~uint64_t{0}) << "at " << first_bad << " got " << got_bad;
  uint64_t extra;
  EXPECT_FALSE(q.try_pop(extra)) << "duplicate or stray item " << extra;
}

TEST(SpscQueue, TwoThreadsSequentialPopBatch) {
  SpscQueue<uint64_t> q(kStressCapacity);
  std::thread producer(produce, std::ref(q));

  // Batch size not a divisor of the capacity, so batches straddle the wrap.
  uint64_t buf[24];
  uint64_t expected = 0;
  uint64_t first_bad = ~uint64_t{0}, got_bad = 0;
  while (expected < kStressItems) {
    const size_t n = q.pop_batch(buf, std::size(buf));
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (size_t i = 0; i < n; ++i, ++expected) {
      if (buf[i] != expected && first_bad == ~uint64_t{0}) {
        first_bad = expected;
        got_bad = buf[i];
      }
    }
  }
  producer.join();

  EXPECT_EQ(expected, kStressItems);  // overshoot would mean phantom items
  EXPECT_EQ(first_bad, ~uint64_t{0}) << "at " << first_bad << " got " << got_bad;
  uint64_t extra;
  EXPECT_FALSE(q.try_pop(extra)) << "duplicate or stray item " << extra;
}

// Multi-word messages: a torn slot (item read before fully written, or
// overwritten while being read) shows up as fields that disagree.
struct Wide {
  uint64_t seq;
  uint64_t twice;
  uint64_t inverted;
};

TEST(SpscQueue, TwoThreadsMultiWordItemsArriveWhole) {
  constexpr uint64_t kItems = 1'000'000;
  SpscQueue<Wide> q(16);
  std::thread producer([&q] {
    for (uint64_t i = 0; i < kItems; ++i) {
      while (!q.try_push(Wide{i, 2 * i, ~i})) std::this_thread::yield();
    }
  });

  uint64_t expected = 0, bad = 0;
  Wide buf[5];
  while (expected < kItems) {
    const size_t n = q.pop_batch(buf, std::size(buf));
    if (n == 0) std::this_thread::yield();
    for (size_t i = 0; i < n; ++i, ++expected) {
      const Wide& w = buf[i];
      if (w.seq != expected || w.twice != 2 * expected || w.inverted != ~expected) ++bad;
    }
  }
  producer.join();
  EXPECT_EQ(bad, 0u);
}

}  // namespace
}  // namespace ringcast::core
