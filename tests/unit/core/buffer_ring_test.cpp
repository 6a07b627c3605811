// BufferRing against a real io_uring: socket pairs with multishot receives
// drawing on the ring, so the kernel's side of the contract is exercised,
// not modelled.
#include "core/buffer_ring.hpp"

#include <gtest/gtest.h>
#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace ringcast::core {
namespace {

constexpr uint16_t kGroup = 7;

class BufferRingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(io_uring_queue_init(1024, &ring_, 0), 0); }
  void TearDown() override {
    for (auto [a, b] : pairs_) {
      ::close(a);
      ::close(b);
    }
    io_uring_queue_exit(&ring_);
  }

  void open_pairs(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      int sv[2];
      ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
      pairs_.push_back({sv[0], sv[1]});
      arm(i);
    }
  }

  void arm(size_t i) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    ASSERT_NE(sqe, nullptr);
    io_uring_prep_recv_multishot(sqe, pairs_[i].first, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    io_uring_sqe_set_data64(sqe, i);
    ASSERT_GE(io_uring_submit(&ring_), 0);
  }

  // Writes `msg` to the peer of each of the first n pairs, then reaps one
  // completion per pair, as the reactor does: data is checked and its
  // buffer recycled, -ENOBUFS is noted and the receive armed again.
  // Returns how many ran out of buffers.
  size_t round(size_t n, const std::string& msg, uint64_t now_ms) {
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(::write(pairs_[i].second, msg.data(), msg.size()), ssize_t(msg.size()));
    }
    size_t shortages = 0, seen = 0;
    std::vector<size_t> rearm;
    while (seen < n) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{2, 0};
      if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) != 0) {
        ADD_FAILURE() << "no completion";
        break;
      }
      const size_t i = size_t(cqe->user_data);
      if (cqe->flags & IORING_CQE_F_BUFFER) {
        const uint16_t bid = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(br_.buffer(bid)), size_t(cqe->res)), msg);
        br_.recycle(bid);
      } else if (cqe->res == -ENOBUFS) {
        br_.note_shortage();
        ++shortages;
      } else {
        ADD_FAILURE() << "res " << cqe->res;
      }
      if (!(cqe->flags & IORING_CQE_F_MORE)) rearm.push_back(i);
      io_uring_cqe_seen(&ring_, cqe);
      ++seen;
    }
    br_.publish(now_ms);
    for (size_t i : rearm) arm(i);
    // The data of the pairs that ran dry is still in their sockets.
    if (shortages) {
      EXPECT_EQ(round_rest(shortages, msg, now_ms), shortages);
    }
    return shortages;
  }

  // Reaps the data of `n` re-armed receives: the reactor's next turn.
  size_t round_rest(size_t n, const std::string& msg, uint64_t now_ms) {
    size_t got = 0;
    while (got < n) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{2, 0};
      if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) != 0) break;
      if (cqe->flags & IORING_CQE_F_BUFFER) {
        const uint16_t bid = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(br_.buffer(bid)), size_t(cqe->res)), msg);
        br_.recycle(bid);
        ++got;
      }
      io_uring_cqe_seen(&ring_, cqe);
    }
    br_.publish(now_ms);
    return got;
  }

  static bool page_resident(const void* p) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    auto* start = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) & ~(page - 1));
    unsigned char v = 0;
    EXPECT_EQ(mincore(start, page, &v), 0);
    return v & 1;
  }

  io_uring ring_;
  BufferRing br_;
  std::vector<std::pair<int, int>> pairs_;
};

TEST_F(BufferRingTest, RejectsACountThatIsNotAPowerOfTwo) {
  BufferRing br;
  EXPECT_EQ(br.init(&ring_, kGroup, 100, 4096), -EINVAL);
  EXPECT_EQ(br.init(&ring_, kGroup, 0, 4096), -EINVAL);
}

TEST_F(BufferRingTest, StartsSmallWithPageAlignedPaddedBuffers) {
  ASSERT_EQ(br_.init(&ring_, kGroup, 1024, 16384), 0);
  EXPECT_EQ(br_.target(), BufferRing::kMinTarget);
  EXPECT_EQ(br_.provided(), BufferRing::kMinTarget);
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  const size_t stride = size_t(br_.buffer(1) - br_.buffer(0));
  EXPECT_GE(stride, 16384 + kRecvPadding);
  EXPECT_EQ(stride % page, 0u) << "a buffer's pages are its own";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(br_.buffer(0)) % page, 0u);
  EXPECT_FALSE(page_resident(br_.buffer(0))) << "nothing is touched before data arrives";
}

TEST_F(BufferRingTest, TinyRingProvidesEverything) {
  ASSERT_EQ(br_.init(&ring_, kGroup, 4, 2048), 0);
  EXPECT_EQ(br_.target(), 4u);
  EXPECT_EQ(br_.provided(), 4u);
  open_pairs(6);
  EXPECT_EQ(round(6, "hello", 1), 2u);  // four buffers for six receives
  EXPECT_EQ(br_.target(), 4u);
  EXPECT_EQ(round(3, "again", 2), 0u);
}

TEST_F(BufferRingTest, BurstGrowsTheTargetAtOnce) {
  ASSERT_EQ(br_.init(&ring_, kGroup, 1024, 4096), 0);
  open_pairs(200);
  const size_t dry = round(200, "burst", 1);
  EXPECT_EQ(dry, 200 - BufferRing::kMinTarget) << "the first burst finds kMinTarget buffers";
  EXPECT_EQ(br_.target(), 512u) << "twice the turn's demand, rounded up to a power of two";
  EXPECT_EQ(br_.provided(), 512u);
  // The next burst of the same size finds enough.
  EXPECT_EQ(round(200, "burst again", 2), 0u);
  EXPECT_EQ(round(200, "and again", 3), 0u);
}

TEST_F(BufferRingTest, QuietRingShrinksAndGivesPagesBack) {
  const uint64_t w = BufferRing::kWindowMs;
  ASSERT_EQ(br_.init(&ring_, kGroup, 1024, 4096), 0);
  open_pairs(200);
  uint64_t now = 1;
  round(200, "burst", now);
  round(200, "burst", now);
  ASSERT_EQ(br_.target(), 512u);
  const uint32_t touched = br_.resident();
  EXPECT_GE(touched, 512u);

  // Quiet windows with a trickle of traffic: the target halves per window
  // down to twice the trickle (or kMinTarget); buffers the kernel returns
  // above the target are parked, and parked buffers that stay unused for a
  // whole window are given back.
  for (int i = 0; i < 8; ++i) {
    now += w / 4;
    for (int k = 0; k < 4; ++k, now += w / 4) round(1, "trickle", now);
  }
  EXPECT_EQ(br_.target(), BufferRing::kMinTarget);
  EXPECT_LT(br_.resident(), touched);
  // What is still provided stays resident; every other buffer went back,
  // except those used within the last window or two.
  EXPECT_LE(br_.resident(), br_.provided() + 16);

  // A released buffer's pages are gone...
  size_t released = 0;
  for (uint32_t id = 0; id < 1024; ++id) {
    if (!page_resident(br_.buffer(uint16_t(id)))) ++released;
  }
  EXPECT_GE(released, 1024u - br_.resident());
  // ...and come back when it is used again (round() checks the data).
  round(200, "after release", now += w);
  EXPECT_EQ(round(200, "and after that", now += 1), 0u);
}

}  // namespace
}  // namespace ringcast::core
