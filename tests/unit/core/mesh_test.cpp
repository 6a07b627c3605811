// core::Mesh and MeshPort, the transport under the broker: sends that never
// block (a full queue spills, in order), FIFO per pair, and the doorbell
// (an eventfd written only when the target announced sleep, once per sleep).
#include "core/mesh.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ringcast::core {
namespace {

MeshMessage msg(uint16_t from, uint64_t value) { return MeshMessage{7, from, 0, value, nullptr}; }

std::vector<uint64_t> take(MeshPort& port) {
  std::vector<uint64_t> out;
  port.receive([&](const MeshMessage& m) { out.push_back(m.value); });
  return out;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

// Non-blocking eventfds, one per reactor, closed at the end.
class Bells {
 public:
  explicit Bells(Mesh& mesh) {
    for (uint32_t i = 0; i < mesh.size(); ++i) {
      fds_.push_back(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
      mesh.set_doorbell(i, fds_.back());
    }
  }
  ~Bells() {
    for (int fd : fds_) ::close(fd);
  }
  // The eventfd's counter (0 if never written), reset to 0.
  uint64_t take(uint32_t i) {
    uint64_t v = 0;
    if (::read(fds_[i], &v, sizeof(v)) != sizeof(v)) return 0;
    return v;
  }
  int fd(uint32_t i) const { return fds_[i]; }

 private:
  std::vector<int> fds_;
};

TEST(Mesh, QueuesPerOrderedPair) {
  Mesh mesh(3, 8);
  EXPECT_EQ(mesh.size(), 3u);
  EXPECT_NE(&mesh.queue(0, 1), &mesh.queue(1, 0));
  EXPECT_NE(&mesh.queue(0, 1), &mesh.queue(0, 2));
  EXPECT_EQ(mesh.queue(0, 1).capacity(), 8u);
  EXPECT_FALSE(mesh.has_input(1));
  ASSERT_TRUE(mesh.queue(2, 1).try_push(msg(2, 1)));
  EXPECT_TRUE(mesh.has_input(1));
  EXPECT_FALSE(mesh.has_input(0));
  EXPECT_FALSE(mesh.has_input(2));
}

TEST(MeshPort, SendAndReceiveKeepEveryField) {
  Mesh mesh(2, 8);
  MeshPort a(mesh, 0), b(mesh, 1);
  int dummy;
  a.send(1, MeshMessage{3, 0, 0xdeadbeef, 0x0123456789abcdefull, &dummy});
  std::vector<MeshMessage> got;
  b.receive([&](const MeshMessage& m) { got.push_back(m); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, 3);
  EXPECT_EQ(got[0].from, 0);
  EXPECT_EQ(got[0].arg, 0xdeadbeefu);
  EXPECT_EQ(got[0].value, 0x0123456789abcdefull);
  EXPECT_EQ(got[0].ptr, &dummy);
  EXPECT_TRUE(take(b).empty());
}

TEST(MeshPort, ReceiveDrainsEverySenderInBatches) {
  Mesh mesh(3, 256);
  MeshPort a(mesh, 0), b(mesh, 1), c(mesh, 2);
  for (uint64_t i = 0; i < 200; ++i) a.send(2, msg(0, i));
  for (uint64_t i = 1000; i < 1200; ++i) b.send(2, msg(1, i));
  std::vector<uint64_t> from0, from1;
  c.receive([&](const MeshMessage& m) { (m.from == 0 ? from0 : from1).push_back(m.value); });
  EXPECT_EQ(from0, range(0, 200));
  EXPECT_EQ(from1, range(1000, 1200));
}

TEST(MeshPort, AFullQueueSpillsAndFlushKeepsOrder) {
  Mesh mesh(2, 4);
  MeshPort a(mesh, 0), b(mesh, 1);
  for (uint64_t i = 0; i < 10; ++i) a.send(1, msg(0, i));
  EXPECT_TRUE(a.has_spill());
  EXPECT_EQ(take(b), range(0, 4));
  // The queue has room now, but a new message must wait behind the spill.
  a.send(1, msg(0, 10));
  EXPECT_TRUE(take(b).empty());
  a.flush();
  EXPECT_EQ(take(b), range(4, 8));
  EXPECT_TRUE(a.has_spill());
  a.flush();
  EXPECT_EQ(take(b), range(8, 11));
  EXPECT_FALSE(a.has_spill());
  // Back to the fast path.
  a.send(1, msg(0, 11));
  EXPECT_EQ(take(b), range(11, 12));
}

TEST(MeshPort, FlushWithAFullQueueMovesNothing) {
  Mesh mesh(2, 2);
  MeshPort a(mesh, 0), b(mesh, 1);
  for (uint64_t i = 0; i < 5; ++i) a.send(1, msg(0, i));
  a.flush();
  a.flush();
  EXPECT_TRUE(a.has_spill());
  EXPECT_EQ(take(b), range(0, 2));
  a.flush();
  EXPECT_EQ(take(b), range(2, 4));
  a.flush();
  EXPECT_EQ(take(b), range(4, 5));
  EXPECT_FALSE(a.has_spill());
}

TEST(MeshPort, OneFullTargetDoesNotHoldBackAnother) {
  Mesh mesh(3, 2);
  MeshPort a(mesh, 0), b(mesh, 1), c(mesh, 2);
  for (uint64_t i = 0; i < 6; ++i) a.send(1, msg(0, i));
  a.send(2, msg(0, 100));
  EXPECT_EQ(take(c), std::vector<uint64_t>{100});
  for (int k = 0; k < 3; ++k) a.flush();  // reactor 1 does not read: still spilled
  EXPECT_TRUE(a.has_spill());
  a.send(2, msg(0, 101));
  EXPECT_EQ(take(c), std::vector<uint64_t>{101});
  std::vector<uint64_t> all;
  while (all.size() < 6) {
    auto got = take(b);
    all.insert(all.end(), got.begin(), got.end());
    a.flush();
  }
  EXPECT_EQ(all, range(0, 6));
}

TEST(MeshDoorbell, RungOnlyWhenTheTargetSleeps) {
  Mesh mesh(2, 8);
  Bells bells(mesh);
  MeshPort a(mesh, 0), b(mesh, 1);
  // Busy target: no write at all.
  a.send(1, msg(0, 1));
  a.flush();
  EXPECT_EQ(bells.take(1), 0u);
  EXPECT_EQ(take(b).size(), 1u);

  // Asleep: one write, at flush, not at send.
  EXPECT_TRUE(b.prepare_sleep());
  a.send(1, msg(0, 2));
  EXPECT_EQ(bells.take(1), 0u);
  a.flush();
  EXPECT_EQ(bells.take(1), 1u);
  // One ring per sleep: the flag was taken by that ring.
  a.send(1, msg(0, 3));
  a.flush();
  EXPECT_EQ(bells.take(1), 0u);
  b.woke();
  EXPECT_EQ(take(b), (std::vector<uint64_t>{2, 3}));
  // Nothing sent since the last flush: no ring even if asleep.
  EXPECT_TRUE(b.prepare_sleep());
  a.flush();
  EXPECT_EQ(bells.take(1), 0u);
  b.woke();
  EXPECT_EQ(bells.take(0), 0u);  // the sender's own bell never rang
}

TEST(MeshDoorbell, PrepareSleepRefusesWhenInputWaits) {
  Mesh mesh(2, 8);
  Bells bells(mesh);
  MeshPort a(mesh, 0), b(mesh, 1);
  a.send(1, msg(0, 1));
  EXPECT_FALSE(b.prepare_sleep());
  // And it did not leave the sleeping flag set: a flush does not ring.
  a.flush();
  EXPECT_EQ(bells.take(1), 0u);
  take(b);
  EXPECT_TRUE(b.prepare_sleep());
}

TEST(MeshDoorbell, ASpillMovedByFlushRingsTheSleeper) {
  Mesh mesh(2, 2);
  Bells bells(mesh);
  MeshPort a(mesh, 0), b(mesh, 1);
  for (uint64_t i = 0; i < 4; ++i) a.send(1, msg(0, i));
  a.flush();
  EXPECT_EQ(take(b), range(0, 2));
  EXPECT_TRUE(b.prepare_sleep());
  a.flush();  // moves the spill
  EXPECT_EQ(bells.take(1), 1u);
  b.woke();
  EXPECT_EQ(take(b), range(2, 4));
}

TEST(MeshDoorbell, NoLostWakeupAcrossThreads) {
  // A consumer that sleeps on its eventfd whenever prepare_sleep allows it,
  // and a producer sending in bursts through a small queue: a lost wakeup
  // shows up as the consumer timing out in poll.
  constexpr uint64_t kCount = 200000;
  Mesh mesh(2, 16);
  Bells bells(mesh);
  std::atomic<bool> timed_out{false};
  std::vector<uint64_t> got;
  got.reserve(kCount);
  std::thread consumer([&] {
    MeshPort b(mesh, 1);
    while (got.size() < kCount) {
      b.woke();
      b.receive([&](const MeshMessage& m) { got.push_back(m.value); });
      if (got.size() >= kCount) break;
      if (!b.prepare_sleep()) continue;
      pollfd p{bells.fd(1), POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) {
        timed_out = true;
        return;
      }
      bells.take(1);
    }
  });
  MeshPort a(mesh, 0);
  for (uint64_t i = 0; i < kCount; ++i) {
    a.send(1, msg(0, i));
    if (i % 64 == 63) a.flush();
    if (i % 4096 == 0) std::this_thread::yield();
  }
  while (a.has_spill() && !timed_out) a.flush();
  a.flush();
  consumer.join();
  ASSERT_FALSE(timed_out) << "consumer slept through a message (after " << got.size() << ")";
  ASSERT_EQ(got.size(), kCount);
  for (uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(got[i], i);
}

}  // namespace
}  // namespace ringcast::core
