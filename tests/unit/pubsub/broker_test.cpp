// Broker over a real core::Mesh of 1-3 reactors, driven on one thread: the
// test plays every reactor's loop by calling on_turn on each in turn. The
// Reactors are constructed but never run (no ring): the broker needs them
// only for their output pool and connection ids, which work without one.
// Deliveries go to a recording sink.
#include "pubsub/broker.hpp"

#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/mesh.hpp"
#include "core/reactor.hpp"

namespace ringcast::pubsub {
namespace {

class NullHandler : public core::ConnectionHandler {
 public:
  void on_open(core::Reactor&, uint32_t) override {}
  void on_data(core::Reactor&, uint32_t, std::span<uint8_t>) override {}
  void on_timer(core::Reactor&, uint32_t) override {}
  void on_close(core::Reactor&, uint32_t) override {}
  void on_reject(core::Reactor&, uint32_t) override {}
  void on_stop(core::Reactor&) override {}
};

struct Delivery {
  uint32_t reactor;
  uint32_t slot;
  std::string frame;
  bool operator==(const Delivery&) const = default;
};

void PrintTo(const Delivery& d, std::ostream* os) { *os << "{r" << d.reactor << " s" << d.slot << " " << d.frame << "}"; }

class RecordingSink : public DeliverySink {
 public:
  void deliver(core::Reactor& r, uint32_t slot, core::OutBuffer* b, uint32_t offset, uint32_t length) override {
    EXPECT_LE(uint64_t(offset) + length, b->used) << "delivered bytes past the buffer's used mark";
    got.push_back({r.index(), slot, std::string(reinterpret_cast<const char*>(b->data()) + offset, length)});
    if (hook) hook(r, slot);
  }
  std::vector<Delivery> got;
  std::function<void(core::Reactor&, uint32_t)> hook;  // re-entrancy tests
};

// Whether fd is readable right now (the reactors' eventfds block on read).
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void drain_eventfd(int fd) {
  if (!readable(fd)) return;
  uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(fd, &v, sizeof(v));
}

class BrokerTest : public testing::Test {
 protected:
  struct Node {
    std::unique_ptr<core::Reactor> reactor;
    RecordingSink sink;
    std::unique_ptr<Broker> broker;
  };

  // n reactors; n == 1 without a mesh when mesh is false.
  void make(uint32_t n, uint32_t depth = 64, bool with_mesh = true) {
    if (with_mesh) mesh_ = std::make_unique<core::Mesh>(n, depth);
    nodes_.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      core::ReactorOptions o;
      o.index = i;
      o.max_connections = 16;
      o.recv_buffers = 1;
      nodes_[i].reactor = std::make_unique<core::Reactor>(o, std::make_unique<NullHandler>());
      ASSERT_GE(nodes_[i].reactor->wake_fd(), 0);
      if (mesh_) mesh_->set_doorbell(i, nodes_[i].reactor->wake_fd());
      nodes_[i].broker = std::make_unique<Broker>(mesh_.get(), i, nodes_[i].sink);
    }
  }

  void TearDown() override {
    settle();  // release every parcel still in flight (LeakSanitizer)
    for (Node& n : nodes_) n.broker.reset();
  }

  Broker& b(uint32_t i) { return *nodes_[i].broker; }
  core::Reactor& r(uint32_t i) { return *nodes_[i].reactor; }
  std::vector<Delivery>& got(uint32_t i) { return nodes_[i].sink.got; }

  void turn(uint32_t i) { b(i).on_turn(r(i)); }
  // Every reactor's loop turn, round after round, until the mesh is quiet.
  void settle(int rounds = 64) {
    for (int k = 0; k < rounds; ++k)
      for (uint32_t i = 0; i < nodes_.size(); ++i) turn(i);
  }

  uint64_t subscribe(uint32_t i, uint32_t slot, std::string_view topic) {
    uint64_t seq = ~uint64_t(0);
    EXPECT_TRUE(b(i).subscribe(slot, topic, &seq));
    return seq;
  }
  // Subscribes and waits (turning every reactor) until it is in effect.
  void subscribe_sync(uint32_t i, uint32_t slot, std::string_view topic) {
    const uint64_t seq = subscribe(i, slot, topic);
    settle();
    EXPECT_TRUE(b(i).barrier_passed(seq));
  }

  void publish(uint32_t i, std::string_view topic, std::string_view frame, uint64_t exclude = kNobody) {
    uint8_t* dst = b(i).publish_reserve(r(i), uint32_t(frame.size()));
    ASSERT_NE(dst, nullptr);
    std::memcpy(dst, frame.data(), frame.size());
    b(i).publish_commit(r(i), topic, uint32_t(frame.size()), exclude);
  }

  std::unique_ptr<core::Mesh> mesh_;  // outlives the brokers' ports
  std::vector<Node> nodes_;
};

// ---- one reactor, no mesh ----------------------------------------------------

TEST_F(BrokerTest, SingleReactorWithoutMesh) {
  make(1, 0, false);
  EXPECT_EQ(subscribe(0, 1, "news"), 0u);
  EXPECT_EQ(subscribe(0, 2, "news"), 0u);
  EXPECT_TRUE(b(0).barrier_passed(0));
  EXPECT_TRUE(b(0).has_audience("news"));
  EXPECT_FALSE(b(0).has_audience("other"));
  publish(0, "news", "hello");
  ASSERT_EQ(got(0).size(), 2u);
  EXPECT_EQ(got(0)[0].frame, "hello");
  EXPECT_EQ(got(0)[1].frame, "hello");
  EXPECT_EQ(b(0).stats().published, 1u);
  EXPECT_EQ(b(0).stats().delivered, 2u);
  EXPECT_EQ(b(0).stats().parcels_sent, 0u);
  b(0).unsubscribe(1, "news");
  b(0).unsubscribe(2, "news");
  EXPECT_FALSE(b(0).has_audience("news"));
  turn(0);  // no port: a no-op
  EXPECT_EQ(b(0).before_sleep(500), 500u);
}

TEST_F(BrokerTest, SubscriptionBookkeeping) {
  make(1, 0, false);
  EXPECT_EQ(b(0).subscriptions(1), 0u);
  EXPECT_FALSE(b(0).subscribed(1, "a"));
  EXPECT_EQ(b(0).first_subscription(1), std::string_view());
  subscribe(0, 1, "a");
  subscribe(0, 1, "b");
  subscribe(0, 1, "c");
  EXPECT_EQ(b(0).subscriptions(1), 3u);
  EXPECT_TRUE(b(0).subscribed(1, "b"));
  EXPECT_FALSE(b(0).subscribed(2, "b"));
  EXPECT_EQ(b(0).first_subscription(1), std::string_view("a"));
  // Twice is a no-op.
  EXPECT_EQ(subscribe(0, 1, "a"), 0u);
  EXPECT_EQ(b(0).subscriptions(1), 3u);
  ASSERT_NE(b(0).table().find("a"), nullptr);
  EXPECT_EQ(b(0).table().find("a")->local.size(), 1u);
  // Unsubscribing from a topic not held, or a slot with none, is a no-op.
  b(0).unsubscribe(1, "zzz");
  b(0).unsubscribe(9, "a");
  EXPECT_EQ(b(0).subscriptions(1), 3u);
  b(0).unsubscribe_all(1);
  EXPECT_EQ(b(0).subscriptions(1), 0u);
  EXPECT_EQ(b(0).table().size(), 0u);
  b(0).unsubscribe_all(1);  // again: nothing
}

TEST_F(BrokerTest, FirstSubscriptionIsTheOldestStillHeld) {
  // broker.hpp: "The slot's oldest subscription still held".
  make(1, 0, false);
  subscribe(0, 1, "a");
  subscribe(0, 1, "b");
  subscribe(0, 1, "c");
  b(0).unsubscribe(1, "a");
  EXPECT_EQ(b(0).first_subscription(1), std::string_view("b"));
  b(0).unsubscribe(1, "b");
  EXPECT_EQ(b(0).first_subscription(1), std::string_view("c"));
}

// ---- interest and acks -------------------------------------------------------------

TEST_F(BrokerTest, FirstSubscriberIsAnnouncedAndAckedByEveryReactor) {
  make(3);
  const uint64_t seq = subscribe(0, 1, "news");
  EXPECT_EQ(seq, 1u);
  EXPECT_FALSE(b(0).barrier_passed(seq));
  EXPECT_FALSE(b(1).has_audience("news"));
  EXPECT_FALSE(b(2).has_audience("news"));

  turn(1);  // reactor 1 learns of it and acks
  ASSERT_TRUE(b(1).has_audience("news"));
  EXPECT_EQ(b(1).table().find("news")->remote, 1u);
  EXPECT_TRUE(b(1).table().find("news")->local.empty());
  turn(0);
  EXPECT_FALSE(b(0).barrier_passed(seq));  // reactor 2 has not acked yet
  turn(2);
  EXPECT_FALSE(b(0).barrier_passed(seq));  // its ack is not read yet
  turn(0);
  EXPECT_TRUE(b(0).barrier_passed(seq));
  EXPECT_EQ(b(2).table().find("news")->remote, 1u);
}

TEST_F(BrokerTest, LaterSubscribersAreNotAnnounced) {
  make(2);
  subscribe_sync(0, 1, "news");
  EXPECT_EQ(subscribe(0, 2, "news"), 0u);
  EXPECT_FALSE(mesh_->has_input(1));
}

TEST_F(BrokerTest, ASecondSubscriberWaitsForAnAnnouncementInFlight) {
  make(2);
  const uint64_t first = subscribe(0, 1, "news");
  EXPECT_EQ(first, 1u);
  // Not announced again, but not in effect on reactor 1 yet either.
  EXPECT_EQ(subscribe(0, 2, "news"), first);
  settle();
  EXPECT_TRUE(b(0).barrier_passed(first));
}

TEST_F(BrokerTest, SequencesCountAnnouncementsOnly) {
  make(2);
  EXPECT_EQ(subscribe(0, 1, "a"), 1u);
  EXPECT_EQ(subscribe(0, 1, "b"), 2u);
  EXPECT_EQ(subscribe(0, 2, "a"), 2u);  // waits for everything announced so far
  settle();
  EXPECT_TRUE(b(0).barrier_passed(2));
  EXPECT_FALSE(b(0).barrier_passed(3));
  EXPECT_EQ(subscribe(0, 3, "c"), 3u);
  settle();
  EXPECT_TRUE(b(0).barrier_passed(3));
}

TEST_F(BrokerTest, LastUnsubscribeIsAnnounced) {
  make(3);
  subscribe_sync(0, 1, "news");
  subscribe_sync(0, 2, "news");
  b(0).unsubscribe(1, "news");
  settle();
  EXPECT_TRUE(b(1).has_audience("news"));
  b(0).unsubscribe(2, "news");
  EXPECT_FALSE(b(0).has_audience("news"));
  settle();
  EXPECT_FALSE(b(1).has_audience("news"));
  EXPECT_FALSE(b(2).has_audience("news"));
}

TEST_F(BrokerTest, RemoteInterestFromSeveralReactors) {
  make(3);
  subscribe_sync(0, 1, "news");
  subscribe_sync(1, 1, "news");
  ASSERT_TRUE(b(2).has_audience("news"));
  EXPECT_EQ(b(2).table().find("news")->remote, 0b011u);
  EXPECT_EQ(b(0).table().find("news")->remote, 0b010u);
  EXPECT_EQ(b(1).table().find("news")->remote, 0b001u);
  b(0).unsubscribe_all(1);
  settle();
  EXPECT_EQ(b(2).table().find("news")->remote, 0b010u);
  // Reactor 0 still routes to reactor 1's subscriber.
  ASSERT_TRUE(b(0).has_audience("news"));
  EXPECT_TRUE(b(0).table().find("news")->local.empty());
}

TEST_F(BrokerTest, SubscribeUnsubscribeSubscribeBeforeAnyoneRuns) {
  make(2);
  const uint64_t s1 = subscribe(0, 1, "t");
  b(0).unsubscribe(1, "t");
  const uint64_t s2 = subscribe(0, 1, "t");
  EXPECT_EQ(s1, 1u);
  EXPECT_EQ(s2, 2u);
  settle();
  EXPECT_TRUE(b(0).barrier_passed(s2));
  ASSERT_TRUE(b(1).has_audience("t"));
  EXPECT_EQ(b(1).table().find("t")->remote, 1u);
  publish(1, "t", "x");
  settle();
  EXPECT_EQ(got(0), (std::vector<Delivery>{{0, 1, "x"}}));
}

TEST_F(BrokerTest, UnsubscribeAllAnnouncesEveryTopic) {
  make(2);
  for (const char* t : {"a", "b", "c"}) subscribe_sync(0, 7, t);
  subscribe_sync(0, 8, "b");
  EXPECT_EQ(b(1).table().size(), 3u);
  b(0).unsubscribe_all(7);
  settle();
  EXPECT_EQ(b(1).table().size(), 1u);
  EXPECT_TRUE(b(1).has_audience("b"));
}

// ---- publishing --------------------------------------------------------------------

TEST_F(BrokerTest, PublishReachesSubscribersOnEveryReactor) {
  make(3);
  subscribe_sync(0, 1, "news");
  subscribe_sync(2, 4, "news");
  subscribe_sync(2, 5, "news");
  subscribe_sync(1, 9, "other");
  publish(1, "news", "hello");
  EXPECT_EQ(b(1).stats().published, 1u);
  EXPECT_EQ(b(1).stats().parcels_sent, 2u);
  EXPECT_EQ(b(1).stats().delivered, 0u);
  EXPECT_TRUE(got(0).empty());  // not before reactor 0 turns
  settle();
  EXPECT_EQ(got(0), (std::vector<Delivery>{{0, 1, "hello"}}));
  ASSERT_EQ(got(2).size(), 2u);
  EXPECT_EQ(got(2)[0].frame, "hello");
  EXPECT_EQ(got(2)[1].frame, "hello");
  EXPECT_NE(got(2)[0].slot, got(2)[1].slot);
  EXPECT_TRUE(got(1).empty());
  EXPECT_EQ(b(0).stats().delivered, 1u);
  EXPECT_EQ(b(2).stats().delivered, 2u);
}

TEST_F(BrokerTest, ThePublisherGetsItsOwnMessageAtOnce) {
  make(2);
  subscribe_sync(0, 1, "news");
  publish(0, "news", "mine");
  EXPECT_EQ(got(0), (std::vector<Delivery>{{0, 1, "mine"}}));
  EXPECT_EQ(b(0).stats().parcels_sent, 0u);  // nobody elsewhere
}

TEST_F(BrokerTest, ExcludeOneConnectionLocallyAndRemotely) {
  make(2);
  subscribe_sync(0, 1, "room");
  subscribe_sync(0, 2, "room");
  subscribe_sync(1, 1, "room");
  // Same slot number on another reactor is another connection.
  publish(0, "room", "m1", r(0).conn_id(1));
  settle();
  EXPECT_EQ(got(0), (std::vector<Delivery>{{0, 2, "m1"}}));
  EXPECT_EQ(got(1), (std::vector<Delivery>{{1, 1, "m1"}}));
  got(0).clear();
  got(1).clear();
  publish(0, "room", "m2", r(1).conn_id(1));
  settle();
  EXPECT_EQ(got(0).size(), 2u);
  EXPECT_TRUE(got(1).empty());
}

TEST_F(BrokerTest, NoAudienceNothingSent) {
  make(2);
  EXPECT_FALSE(b(0).has_audience("nobody"));
  publish(0, "nobody", "lost");
  EXPECT_EQ(b(0).stats().published, 0u);
  EXPECT_EQ(b(0).stats().parcels_sent, 0u);
  EXPECT_FALSE(mesh_->has_input(1));
}

TEST_F(BrokerTest, AParcelForATopicUnsubscribedMeanwhileIsDropped) {
  make(2);
  subscribe_sync(0, 1, "news");
  publish(1, "news", "late");  // in reactor 0's queue
  b(0).unsubscribe(1, "news");
  settle();
  EXPECT_TRUE(got(0).empty());
  EXPECT_FALSE(b(1).has_audience("news"));
}

TEST_F(BrokerTest, OrderFromOnePublisherSurvivesAFullQueue) {
  make(3, /*depth=*/4);
  subscribe_sync(0, 1, "seq");
  subscribe_sync(2, 3, "seq");
  std::vector<Delivery> want0, want2;
  for (int i = 0; i < 300; ++i) {
    std::string m = "m";
    m += std::to_string(i);
    publish(1, "seq", m);
    want0.push_back({0, 1, m});
    want2.push_back({2, 3, m});
    // Now and then a turn of the publisher (retries its spill) or a reader.
    if (i % 37 == 0) turn(1);
    if (i % 53 == 0) turn(0);
  }
  EXPECT_LE(b(1).before_sleep(1000), 1u);  // a spill waits: look again soon
  settle(400);
  EXPECT_EQ(got(0), want0);
  EXPECT_EQ(got(2), want2);
}

TEST_F(BrokerTest, FramesOfEverySize) {
  make(2);
  subscribe_sync(1, 1, "big");
  subscribe_sync(0, 2, "big");
  // Past the arena's 16 KiB chunks, and many that roll the arena over.
  std::vector<std::string> frames;
  for (size_t n : {size_t(0), size_t(1), size_t(100), size_t(16000), size_t(16384), size_t(100000), size_t(5000),
                   size_t(5000), size_t(5000), size_t(5000)}) {
    std::string f(n, 'a');
    for (size_t k = 0; k < n; ++k) f[k] = char('a' + (k * 7 + frames.size()) % 26);
    frames.push_back(f);
    publish(0, "big", f);
  }
  settle();
  ASSERT_EQ(got(1).size(), frames.size());
  ASSERT_EQ(got(0).size(), frames.size());
  for (size_t k = 0; k < frames.size(); ++k) {
    EXPECT_EQ(got(1)[k].frame, frames[k]) << k;
    EXPECT_EQ(got(0)[k].frame, frames[k]) << k;
  }
}

// ---- re-entrancy -----------------------------------------------------------------

TEST_F(BrokerTest, UnsubscribeAllFromInsideADeliveryWaitsForTheLoop) {
  // A sink that closes a slow consumer: on_close -> unsubscribe_all while the
  // broker walks the topic's subscribers.
  make(2);
  for (uint32_t s : {1u, 2u, 3u}) subscribe_sync(0, s, "t");
  nodes_[0].sink.hook = [&](core::Reactor&, uint32_t slot) {
    b(0).unsubscribe_all(slot);  // every subscriber leaves
  };
  publish(0, "t", "once");
  EXPECT_EQ(got(0).size(), 3u);  // each exactly once, none skipped
  EXPECT_FALSE(b(0).has_audience("t"));
  for (uint32_t s : {1u, 2u, 3u}) EXPECT_EQ(b(0).subscriptions(s), 0u);
  nodes_[0].sink.hook = nullptr;
  settle();
  EXPECT_FALSE(b(1).has_audience("t"));
}

TEST_F(BrokerTest, UnsubscribeAllFromInsideARemoteDelivery) {
  make(2);
  for (uint32_t s : {1u, 2u, 3u}) subscribe_sync(0, s, "t");
  nodes_[0].sink.hook = [&](core::Reactor&, uint32_t slot) {
    if (slot == 2) b(0).unsubscribe_all(slot);
  };
  publish(1, "t", "first");
  publish(1, "t", "second");
  settle();
  nodes_[0].sink.hook = nullptr;
  // Slot 2 got the first message and then left.
  size_t to2 = 0;
  for (const Delivery& d : got(0)) to2 += d.slot == 2;
  EXPECT_EQ(to2, 1u);
  EXPECT_EQ(got(0).size(), 5u);
  EXPECT_EQ(b(0).subscriptions(2), 0u);
}

// ---- sleeping and the doorbell ------------------------------------------------------

TEST_F(BrokerTest, BeforeSleepAndTheDoorbell) {
  make(2);
  subscribe_sync(0, 1, "news");
  drain_eventfd(r(0).wake_fd());
  // Reactor 0 is idle: it may sleep the whole time.
  EXPECT_EQ(b(0).before_sleep(1000), 1000u);
  EXPECT_FALSE(readable(r(0).wake_fd()));
  publish(1, "news", "wake up");
  EXPECT_FALSE(readable(r(0).wake_fd()));  // rung on flush, at the end of the turn
  turn(1);
  EXPECT_TRUE(readable(r(0).wake_fd()));
  drain_eventfd(r(0).wake_fd());
  turn(0);
  EXPECT_EQ(got(0).size(), 1u);

  // Busy (not announced sleep): not rung.
  publish(1, "news", "again");
  turn(1);
  EXPECT_FALSE(readable(r(0).wake_fd()));
  // Something waiting: do not block at all.
  EXPECT_EQ(b(0).before_sleep(1000), 0u);
  turn(0);
  EXPECT_EQ(got(0).size(), 2u);
}

}  // namespace
}  // namespace ringcast::pubsub
