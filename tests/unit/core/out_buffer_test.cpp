#include "core/out_buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::core {
namespace {

// Copies `s` into the queue through reserve/commit.
void write(OutQueue& q, OutPool& pool, std::string_view s) {
  uint8_t* p = q.reserve(pool, s.size());
  ASSERT_NE(p, nullptr);
  std::memcpy(p, s.data(), s.size());
  q.commit(s.size());
}

// Everything gather() sees, concatenated.
std::string gathered(const OutQueue& q, int max_iov = OutQueue::kMaxIov) {
  std::vector<iovec> iov(size_t(max_iov) + 1);
  const int n = q.gather(iov.data(), max_iov);
  std::string out;
  for (int i = 0; i < n; ++i) out.append(static_cast<const char*>(iov[size_t(i)].iov_base), iov[size_t(i)].iov_len);
  return out;
}

int iov_count(const OutQueue& q, int max_iov = OutQueue::kMaxIov) {
  std::vector<iovec> iov(static_cast<size_t>(max_iov));
  return q.gather(iov.data(), max_iov);
}

// A shared, immutable buffer holding `s` (one reference: the caller's).
OutBuffer* shared_buffer(OutPool& pool, std::string_view s) {
  OutBuffer* b = pool.acquire(s.size());
  std::memcpy(b->data(), s.data(), s.size());
  b->used = uint32_t(s.size());
  return b;
}

TEST(OutQueue, IsSmall) { EXPECT_EQ(sizeof(OutQueue), 24u); }

TEST(OutQueue, StartsEmpty) {
  OutQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  iovec iov[1];
  EXPECT_EQ(q.gather(iov, 1), 0);
}

TEST(OutQueue, ReserveCommitGather) {
  OutPool pool;
  OutQueue q;
  write(q, pool, "hello");
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.bytes(), 5u);
  EXPECT_EQ(gathered(q), "hello");
  q.clear(pool);
  EXPECT_TRUE(q.empty());
}

TEST(OutQueue, ConsecutiveWritesShareOneContiguousSegment) {
  OutPool pool;
  OutQueue q;
  uint8_t* first = q.reserve(pool, 3);
  std::memcpy(first, "abc", 3);
  q.commit(3);
  uint8_t* second = q.reserve(pool, 4);
  EXPECT_EQ(second, first + 3) << "the tail buffer is extended in place";
  std::memcpy(second, "defg", 4);
  q.commit(4);
  EXPECT_EQ(iov_count(q), 1);
  EXPECT_EQ(gathered(q), "abcdefg");
  EXPECT_EQ(q.bytes(), 7u);
  q.clear(pool);
}

TEST(OutQueue, ReservedRoomIsContiguousAndWritable) {
  OutPool pool;
  OutQueue q;
  const size_t n = OutPool::kChunkBytes;  // exactly one chunk
  uint8_t* p = q.reserve(pool, n);
  ASSERT_NE(p, nullptr);
  std::memset(p, 'x', n);  // ASan checks the whole range
  q.commit(n);
  EXPECT_EQ(iov_count(q), 1);
  EXPECT_EQ(q.bytes(), n);
  q.clear(pool);
}

TEST(OutQueue, FullChunkStartsANewSegment) {
  OutPool pool;
  OutQueue q;
  const std::string a(OutPool::kChunkBytes - 10, 'a');
  write(q, pool, a);
  write(q, pool, std::string(10, 'b'));  // still fits
  EXPECT_EQ(iov_count(q), 1);
  write(q, pool, "c");  // does not
  EXPECT_EQ(iov_count(q), 2);
  EXPECT_EQ(gathered(q), a + std::string(10, 'b') + "c");
  EXPECT_EQ(q.bytes(), OutPool::kChunkBytes + 1);
  q.clear(pool);
}

TEST(OutQueue, UncommittedReservationAddsNothing) {
  OutPool pool;
  OutQueue q;
  write(q, pool, "abc");
  ASSERT_NE(q.reserve(pool, 100), nullptr);
  q.commit(0);
  EXPECT_EQ(q.bytes(), 3u);
  EXPECT_EQ(gathered(q), "abc");
  q.clear(pool);
}

TEST(OutQueue, LargeReservationBeyondAChunk) {
  OutPool pool;
  OutQueue q;
  write(q, pool, "head");
  const size_t big = 3 * size_t(OutPool::kChunkBytes) + 17;
  uint8_t* p = q.reserve(pool, big);
  ASSERT_NE(p, nullptr);
  for (size_t i = 0; i < big; ++i) p[i] = uint8_t(i * 31);
  q.commit(big);
  EXPECT_EQ(q.bytes(), 4 + big);
  std::vector<iovec> iov(4);
  ASSERT_EQ(q.gather(iov.data(), 4), 2);
  EXPECT_EQ(iov[1].iov_len, big) << "one contiguous range";
  const auto* d = static_cast<const uint8_t*>(iov[1].iov_base);
  for (size_t i = 0; i < big; ++i) ASSERT_EQ(d[i], uint8_t(i * 31)) << i;
  // The next write does not fit the exact-size buffer: a new segment.
  write(q, pool, "tail");
  EXPECT_EQ(iov_count(q), 3);
  q.consume(pool, 4 + big);
  EXPECT_EQ(gathered(q), "tail");
  q.clear(pool);  // ASan: the unpooled buffer is freed, not leaked
}

TEST(OutQueue, ConsumePartialSegment) {
  OutPool pool;
  OutQueue q;
  write(q, pool, "0123456789");
  q.consume(pool, 3);
  EXPECT_EQ(q.bytes(), 7u);
  EXPECT_EQ(gathered(q), "3456789");
  q.consume(pool, 6);
  EXPECT_EQ(gathered(q), "9");
  q.consume(pool, 1);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(iov_count(q), 0);
}

TEST(OutQueue, ConsumeAcrossSegmentBoundaries) {
  OutPool pool;
  OutQueue q;
  OutBuffer* shared = shared_buffer(pool, "SHARED");
  write(q, pool, "aaaa");
  q.append_shared(pool, shared, 0, 6);
  write(q, pool, "bbbb");  // a new segment after the shared one
  ASSERT_EQ(iov_count(q), 3);
  EXPECT_EQ(q.bytes(), 14u);
  q.consume(pool, 6);  // all of "aaaa" and "SH"
  EXPECT_EQ(gathered(q), "AREDbbbb");
  EXPECT_EQ(iov_count(q), 2);
  q.consume(pool, 4);  // exactly the rest of the shared segment
  EXPECT_EQ(gathered(q), "bbbb");
  EXPECT_EQ(iov_count(q), 1);
  EXPECT_EQ(shared->refs, 1u) << "the queue let go of the shared buffer";
  q.consume(pool, 4);
  EXPECT_TRUE(q.empty());
  pool.unref(shared);
}

TEST(OutQueue, ConsumeAllAtOnceThenReuse) {
  OutPool pool;
  OutQueue q;
  for (int i = 0; i < 5; ++i) {
    write(q, pool, std::string(OutPool::kChunkBytes / 2 + 1, char('a' + i)));
  }
  EXPECT_EQ(iov_count(q), 5);
  q.consume(pool, q.bytes());
  EXPECT_TRUE(q.empty());
  write(q, pool, "again");
  EXPECT_EQ(gathered(q), "again");
  EXPECT_EQ(q.bytes(), 5u);
  q.clear(pool);
}

TEST(OutQueue, WriteAfterPartialConsumeKeepsSentBytesInPlace) {
  // Bytes already handed to the kernel must not move: a write after a
  // partial consume goes after them, never over them.
  OutPool pool;
  OutQueue q;
  write(q, pool, "abcdef");
  iovec iov[2];
  ASSERT_EQ(q.gather(iov, 2), 1);
  const auto* in_flight = static_cast<const uint8_t*>(iov[0].iov_base);
  q.consume(pool, 2);
  write(q, pool, "XY");
  EXPECT_EQ(std::memcmp(in_flight, "abcdefXY", 8), 0);
  EXPECT_EQ(gathered(q), "cdefXY");
  EXPECT_EQ(iov_count(q), 1);
  q.clear(pool);
}

TEST(OutQueue, AppendSharedTakesAReference) {
  OutPool pool;
  OutQueue q;
  OutBuffer* b = shared_buffer(pool, "broadcast");
  ASSERT_EQ(b->refs, 1u);
  q.append_shared(pool, b, 0, 9);
  EXPECT_EQ(b->refs, 2u);
  EXPECT_EQ(q.bytes(), 9u);
  EXPECT_EQ(gathered(q), "broadcast");
  q.append_shared(pool, b, 5, 4);  // a sub-range, queued twice
  EXPECT_EQ(b->refs, 3u);
  EXPECT_EQ(gathered(q), "broadcastcast");
  q.clear(pool);
  EXPECT_EQ(b->refs, 1u);
  pool.unref(b);
}

TEST(OutQueue, SharedBufferSurvivesUntilEveryQueueConsumedIt) {
  OutPool pool;
  std::vector<OutQueue> queues(5);
  OutBuffer* b = shared_buffer(pool, "fan-out frame");
  for (auto& q : queues) q.append_shared(pool, b, 0, 13);
  pool.unref(b);  // the publisher is done; the queues hold it now
  EXPECT_EQ(b->refs, 5u);
  for (size_t i = 0; i < queues.size(); ++i) {
    EXPECT_EQ(gathered(queues[i]), "fan-out frame") << i;  // ASan: still alive
    queues[i].consume(pool, 4);
    EXPECT_EQ(gathered(queues[i]), "out frame") << i;
    queues[i].consume(pool, 9);
    EXPECT_TRUE(queues[i].empty());
    if (i + 1 < queues.size()) {
      EXPECT_EQ(b->refs, uint32_t(queues.size() - 1 - i));
    }
  }
  // The last consume returned it to the pool: the next chunk reuses it.
  OutBuffer* again = pool.acquire(10);
  EXPECT_EQ(again, b);
  EXPECT_EQ(again->refs, 1u);
  EXPECT_EQ(again->used, 0u);
  pool.unref(again);
}

TEST(OutQueue, DoesNotExtendASharedTail) {
  OutPool pool;
  OutQueue q1, q2;
  uint8_t* p = q1.reserve(pool, 5);
  std::memcpy(p, "hello", 5);
  q1.commit(5);
  // Find q1's buffer through gather and share it with q2 (as a broadcast
  // framed in one connection's buffer would be).
  iovec iov[1];
  ASSERT_EQ(q1.gather(iov, 1), 1);
  OutBuffer* b = reinterpret_cast<OutBuffer*>(static_cast<uint8_t*>(iov[0].iov_base)) - 1;
  q2.append_shared(pool, b, 0, 5);
  ASSERT_EQ(b->refs, 2u);
  const uint32_t used_before = b->used;

  uint8_t* next = q1.reserve(pool, 3);
  EXPECT_NE(next, p + 5) << "refs > 1: the buffer is immutable, a new one is taken";
  std::memcpy(next, "abc", 3);
  q1.commit(3);
  EXPECT_EQ(b->used, used_before);
  EXPECT_EQ(iov_count(q1), 2);
  EXPECT_EQ(gathered(q1), "helloabc");
  EXPECT_EQ(gathered(q2), "hello");

  // Once q2 let go, q1 is the only holder again, but its tail is now the
  // new buffer; writes extend that one.
  q2.clear(pool);
  EXPECT_EQ(b->refs, 1u);
  uint8_t* more = q1.reserve(pool, 2);
  EXPECT_EQ(more, next + 3);
  std::memcpy(more, "de", 2);
  q1.commit(2);
  EXPECT_EQ(gathered(q1), "helloabcde");
  q1.clear(pool);
}

TEST(OutQueue, DoesNotExtendAfterASharedSubRange) {
  // A sole holder, but the tail segment is a range that does not end where
  // the buffer's data ends: writing at `used` would not follow the segment.
  OutPool pool;
  OutQueue q;
  OutBuffer* b = shared_buffer(pool, "0123456789");
  q.append_shared(pool, b, 2, 3);  // "234"
  pool.unref(b);
  ASSERT_EQ(b->refs, 1u);
  write(q, pool, "xyz");
  EXPECT_EQ(gathered(q), "234xyz");
  EXPECT_EQ(std::memcmp(b->data(), "0123456789", 10), 0) << "the shared bytes are untouched";
  q.clear(pool);
}

TEST(OutQueue, GatherRespectsMaxIov) {
  OutPool pool;
  OutQueue q;
  OutBuffer* b = shared_buffer(pool, "abcdefghij");
  for (int i = 0; i < 10; ++i) q.append_shared(pool, b, uint32_t(i), 1);
  EXPECT_EQ(b->refs, 11u);
  EXPECT_EQ(iov_count(q, 4), 4);
  EXPECT_EQ(gathered(q, 4), "abcd");
  EXPECT_EQ(iov_count(q, 64), 10);
  EXPECT_EQ(gathered(q), "abcdefghij");
  q.consume(pool, 7);
  EXPECT_EQ(gathered(q), "hij");
  EXPECT_EQ(b->refs, 4u);
  q.clear(pool);
  EXPECT_EQ(b->refs, 1u);
  pool.unref(b);
}

TEST(OutQueue, GatherSkipsEmptySegments) {
  OutPool pool;
  OutQueue q;
  OutBuffer* b = shared_buffer(pool, "abc");
  q.append_shared(pool, b, 0, 0);
  q.append_shared(pool, b, 0, 3);
  q.append_shared(pool, b, 1, 0);
  EXPECT_EQ(iov_count(q), 1);
  EXPECT_EQ(gathered(q), "abc");
  EXPECT_EQ(q.bytes(), 3u);
  q.consume(pool, 3);
  EXPECT_TRUE(q.empty()) << "the empty segments go with the bytes around them";
  EXPECT_EQ(b->refs, 1u);
  pool.unref(b);
}

TEST(OutQueue, ClearReleasesEverything) {
  OutPool pool;
  OutQueue q;
  OutBuffer* b = shared_buffer(pool, "shared");
  write(q, pool, "own");
  q.append_shared(pool, b, 0, 6);
  write(q, pool, std::string(OutPool::kChunkBytes * 2, 'L'));  // unpooled
  q.append_shared(pool, b, 0, 6);
  EXPECT_EQ(b->refs, 3u);
  q.clear(pool);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(iov_count(q), 0);
  EXPECT_EQ(b->refs, 1u);
  // The queue works normally afterwards.
  write(q, pool, "next");
  EXPECT_EQ(gathered(q), "next");
  q.clear(pool);
  pool.unref(b);
}

TEST(OutPool, AcquireGivesRoomAndOneReference) {
  OutPool pool;
  for (size_t n : {size_t(0), size_t(1), size_t(OutPool::kChunkBytes), size_t(OutPool::kChunkBytes) + 1,
                   size_t(1) << 20}) {
    OutBuffer* b = pool.acquire(n);
    ASSERT_NE(b, nullptr);
    EXPECT_GE(b->capacity, n);
    EXPECT_EQ(b->refs, 1u);
    EXPECT_EQ(b->used, 0u);
    EXPECT_EQ(b->pooled, n <= OutPool::kChunkBytes ? 1u : 0u) << n;
    std::memset(b->data(), 0xAB, b->capacity);
    pool.unref(b);
  }
}

TEST(OutPool, ChunksAreRecycled) {
  OutPool pool;
  OutBuffer* a = pool.acquire(100);
  a->used = 50;
  pool.unref(a);
  OutBuffer* b = pool.acquire(200);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b->used, 0u);
  EXPECT_EQ(b->refs, 1u);
  OutPool::ref(b);
  pool.unref(b);
  EXPECT_EQ(b->refs, 1u);  // still held
  pool.unref(b);
}

TEST(OutPool, SegmentsAreRecycled) {
  OutPool pool;
  Segment* s = pool.segment();
  ASSERT_NE(s, nullptr);
  pool.release(s);
  EXPECT_EQ(pool.segment(), s);
  pool.release(s);
}

// The buffer behind the queue's i-th range.
OutBuffer* buffer_of(const OutQueue& q, int i) {
  iovec iov[OutQueue::kMaxIov];
  const int n = q.gather(iov, OutQueue::kMaxIov);
  if (i >= n) return nullptr;
  // Every range here starts at offset 0 of its buffer.
  return reinterpret_cast<OutBuffer*>(static_cast<uint8_t*>(iov[i].iov_base)) - 1;
}

TEST(OutQueue, SmallFirstWriteTakesASmallChunk) {
  // A 101 or a pong into an idle connection's queue does not tie up 16 KiB.
  OutPool pool;
  OutQueue q;
  write(q, pool, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
  OutBuffer* b = buffer_of(q, 0);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->capacity, OutPool::kSmallChunkBytes);
  EXPECT_EQ(b->pooled, 2u);
  q.clear(pool);
  EXPECT_EQ(pool.free_small_chunks(), 1u);
  EXPECT_EQ(pool.free_chunks(), 0u);
}

TEST(OutQueue, MoreOutputAfterASmallChunkGoesIntoFullChunks) {
  OutPool pool;
  OutQueue q;
  const std::string a(OutPool::kSmallChunkBytes - 4, 'a');
  write(q, pool, a);
  write(q, pool, "bbbb");  // fills the small chunk exactly
  EXPECT_EQ(iov_count(q), 1);
  write(q, pool, "c");  // a queue with output in it gets a full chunk
  ASSERT_EQ(iov_count(q), 2);
  EXPECT_EQ(buffer_of(q, 0)->capacity, OutPool::kSmallChunkBytes);
  EXPECT_EQ(buffer_of(q, 1)->capacity, OutPool::kChunkBytes);
  EXPECT_EQ(gathered(q), a + "bbbbc");
  q.clear(pool);
}

TEST(OutQueue, FirstWriteBiggerThanASmallChunkTakesAFullOne) {
  OutPool pool;
  OutQueue q;
  write(q, pool, std::string(OutPool::kSmallChunkBytes + 1, 'x'));
  EXPECT_EQ(buffer_of(q, 0)->capacity, OutPool::kChunkBytes);
  q.clear(pool);
}

TEST(OutPool, SizesHaveTheirOwnFreeLists) {
  OutPool pool;
  OutBuffer* small = pool.acquire_small();
  OutBuffer* full = pool.acquire(10);  // acquire() always gives a full chunk
  EXPECT_EQ(small->capacity, OutPool::kSmallChunkBytes);
  EXPECT_EQ(full->capacity, OutPool::kChunkBytes);
  std::memset(small->data(), 1, small->capacity);
  pool.unref(small);
  pool.unref(full);
  EXPECT_EQ(pool.free_small_chunks(), 1u);
  EXPECT_EQ(pool.free_chunks(), 1u);
  EXPECT_EQ(pool.acquire(10), full);
  EXPECT_EQ(pool.acquire_small(), small);
  EXPECT_EQ(small->refs, 1u);
  EXPECT_EQ(small->used, 0u);
  pool.unref(small);
  pool.unref(full);
}

TEST(OutPool, TrimFreesChunksUnusedForAWholeWindow) {
  const uint64_t w = OutPool::kTrimWindowMs;
  OutPool pool;
  OutBuffer* b[4];
  for (auto*& x : b) x = pool.acquire(1);
  for (auto* x : b) pool.unref(x);  // the stack: b[3] on top
  ASSERT_EQ(pool.free_chunks(), 4u);
  pool.trim(w);  // the first window ends: all four were just freed, none goes yet
  EXPECT_EQ(pool.free_chunks(), 4u);

  OutBuffer* top = pool.acquire(1);  // the second window uses one chunk
  EXPECT_EQ(top, b[3]);
  pool.unref(top);
  pool.trim(w + w / 2);  // not the end of a window: nothing happens
  EXPECT_EQ(pool.free_chunks(), 4u);
  pool.trim(2 * w);  // the three below it were not touched all window (ASan: freed)
  EXPECT_EQ(pool.free_chunks(), 1u);
  EXPECT_EQ(pool.acquire(1), b[3]) << "the chunk kept is the one in use";
  pool.unref(b[3]);

  pool.trim(3 * w);  // used in this window: kept
  EXPECT_EQ(pool.free_chunks(), 1u);
  pool.trim(4 * w);  // idle for a whole window: freed
  EXPECT_EQ(pool.free_chunks(), 0u);

  // Small chunks are trimmed the same way; the pool still works afterwards.
  pool.unref(pool.acquire_small());
  pool.trim(5 * w);
  pool.trim(6 * w);
  EXPECT_EQ(pool.free_small_chunks(), 0u);
  OutQueue q;
  write(q, pool, "after trim");
  EXPECT_EQ(gathered(q), "after trim");
  q.clear(pool);
}

// Differential: random writes, shared appends and consumes against a
// std::string model of the bytes in flight.
TEST(OutQueue, RandomisedAgainstModel) {
  std::mt19937 rng(1234);
  OutPool pool;
  OutQueue q;
  OutBuffer* shared = shared_buffer(pool, std::string(1000, 's'));
  for (int i = 0; i < 1000; ++i) shared->data()[i] = uint8_t('A' + i % 26);
  std::string model;
  for (int step = 0; step < 5000; ++step) {
    switch (rng() % 3) {
      case 0: {
        const size_t n = 1 + (rng() % 8 == 0 ? rng() % (3 * OutPool::kChunkBytes) : rng() % 300);
        uint8_t* p = q.reserve(pool, n);
        ASSERT_NE(p, nullptr);
        for (size_t k = 0; k < n; ++k) p[k] = uint8_t('a' + (step + k) % 26);
        q.commit(n);
        for (size_t k = 0; k < n; ++k) model.push_back(char('a' + (step + k) % 26));
        break;
      }
      case 1: {
        const uint32_t off = rng() % 1000;
        const uint32_t len = 1 + rng() % (1000 - off);
        q.append_shared(pool, shared, off, len);
        model.append(reinterpret_cast<const char*>(shared->data()) + off, len);
        break;
      }
      default: {
        const size_t n = model.empty() ? 0 : rng() % (model.size() + 1);
        q.consume(pool, n);
        model.erase(0, n);
      }
    }
    ASSERT_EQ(q.bytes(), model.size()) << step;
    ASSERT_EQ(q.empty(), model.empty()) << step;
    if (step % 50 == 0 || iov_count(q) < OutQueue::kMaxIov) {
      const std::string g = gathered(q);
      ASSERT_EQ(g, model.substr(0, g.size())) << step;
      if (iov_count(q) < OutQueue::kMaxIov) {
        ASSERT_EQ(g.size(), model.size()) << step;
      }
    }
  }
  q.clear(pool);
  EXPECT_EQ(shared->refs, 1u);
  pool.unref(shared);
}

}  // namespace
}  // namespace ringcast::core
