// One reactor's publish/subscribe engine: its topic table, its end of the
// mesh, and the interest replication between reactors.
//
// A publish is framed once, into a shared arena buffer, and queued on every
// local subscriber by reference; each other reactor with subscribers gets
// one pointer to a parcel holding the frame, copies it once into its own
// arena and does the same. Messages from one publisher to one topic keep
// their order everywhere: local delivery is immediate, and each
// reactor-to-reactor queue (and its spill list) is FIFO.
//
// A reactor's first subscriber to a topic is announced to every other
// reactor, which answers with an ack; Broker::subscribe returns the sequence
// number to wait for, so a client is told "subscribed" only once every
// reactor will route the topic's messages to it.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mesh.hpp"
#include "core/out_buffer.hpp"
#include "core/reactor.hpp"
#include "pubsub/topic_table.hpp"

namespace ringcast::pubsub {

// Where published frames go: the protocol layer decides what a subscriber
// that cannot take one more message gets (closed, or the message dropped).
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  virtual void deliver(core::Reactor& r, uint32_t slot, core::OutBuffer* b, uint32_t offset, uint32_t length) = 0;
  // A publish reached this reactor's subscribers latency_us after it was
  // published (0 on the publisher's own reactor). Once per publish and reactor.
  virtual void arrived(uint64_t latency_us) { (void)latency_us; }
};

// "Exclude nobody" (0 is a valid connection id: reactor 0, generation 0, slot 0).
constexpr uint64_t kNobody = ~uint64_t(0);

// Mesh message kinds used by the broker.
enum MeshKind : uint16_t {
  kPublish = 1,      // ptr = Parcel (topic + frame), value = publish time (core::monotonic_us)
  kInterest = 2,     // ptr = Parcel (topic), arg = 1 add / 0 remove, value = sequence
  kInterestAck = 3,  // value = the sequence acknowledged
};

// Mesh messages of other kinds (>= kFirstOtherKind) go to the layer above,
// which owns what their pointers point to.
constexpr uint16_t kFirstOtherKind = 16;

class MeshReceiver {
 public:
  virtual ~MeshReceiver() = default;
  virtual void on_mesh(core::Reactor& r, const core::MeshMessage& m) = 0;
};
// At teardown (the receiver may be gone): frees what an unreceived message holds.
using MeshDiscard = void (*)(const core::MeshMessage& m);

struct BrokerStats {
  uint64_t published = 0;       // publishes that reached at least one reactor
  uint64_t delivered = 0;       // frames queued on local subscribers
  uint64_t parcels_sent = 0;    // cross-reactor handoffs
};

class Broker {
 public:
  // mesh may be null (a single reactor).
  Broker(core::Mesh* mesh, uint32_t self, DeliverySink& sink);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Subscribes slot to topic. *wait_seq = the sequence barrier_passed must
  // reach before the subscription is in effect everywhere (0 = already).
  // Returns false if memory ran out. Subscribing twice is a no-op.
  bool subscribe(uint32_t slot, std::string_view topic, uint64_t* wait_seq);
  void unsubscribe(uint32_t slot, std::string_view topic);
  void unsubscribe_all(uint32_t slot);
  size_t subscriptions(uint32_t slot) const;
  bool subscribed(uint32_t slot, std::string_view topic) const;
  // The slot's oldest subscription still held ("" if none): the room of a
  // channel-profile connection.
  std::string_view first_subscription(uint32_t slot) const;
  bool barrier_passed(uint64_t seq) const;
  // Grows with every acknowledgement received: a barrier can only have
  // passed since a moment when this was lower.
  uint64_t acks_received() const { return acks_received_; }
  // Calls f(std::string_view topic) for each of the slot's subscriptions.
  template <class F>
  void for_each_subscription(uint32_t slot, F&& f) const {
    auto it = by_slot_.find(slot);
    if (it == by_slot_.end()) return;
    for (const Topic* t : it->second) f(std::string_view(t->name));
  }
  // Subscribers of topic on this reactor.
  size_t local_subscribers(std::string_view topic) const {
    const Topic* t = table_.find(topic);
    return t ? t->local.size() : 0;
  }

  // True if any reactor has a subscriber (skip framing otherwise).
  bool has_audience(std::string_view topic) const { return table_.find(topic) != nullptr; }
  // Room for a frame of len bytes; write it, then publish_commit. nullptr if
  // memory ran out.
  uint8_t* publish_reserve(core::Reactor& r, uint32_t len);
  // Delivers the reserved frame to every subscriber of topic (on every
  // reactor) except the connection `exclude` (kNobody = none).
  void publish_commit(core::Reactor& r, std::string_view topic, uint32_t len, uint64_t exclude);

  // Messages of other kinds: where they are received, and how they are sent
  // (in order with this broker's own, through the same queues).
  void set_receiver(MeshReceiver* receiver, MeshDiscard discard) {
    receiver_ = receiver;
    discard_ = discard;
  }
  void send(uint32_t to, const core::MeshMessage& m);
  uint32_t self() const { return self_; }
  uint32_t reactors() const { return reactors_; }
  // Messages waiting for room in a full mesh queue.
  uint32_t spilled() const { return port_ ? port_->spilled() : 0; }

  // Once per loop turn: takes in what other reactors sent, sends what waits.
  void on_turn(core::Reactor& r);
  uint64_t before_sleep(uint64_t wait_ms);

  const BrokerStats& stats() const { return stats_; }
  const TopicTable& table() const { return table_; }

 private:
  void deliver_local(core::Reactor& r, Topic* t, core::OutBuffer* b, uint32_t offset, uint32_t len, uint64_t exclude);
  bool announce(std::string_view topic, bool add, uint64_t seq);
  void on_message(core::Reactor& r, const core::MeshMessage& m);
  void drain_deferred();

  std::unique_ptr<core::MeshPort> port_;
  uint32_t self_;
  uint32_t reactors_;
  DeliverySink& sink_;
  MeshReceiver* receiver_ = nullptr;
  MeshDiscard discard_ = nullptr;
  TopicTable table_;
  std::unordered_map<uint32_t, std::vector<Topic*>> by_slot_;
  core::OutBuffer* arena_ = nullptr;  // where published frames are written
  uint64_t interest_seq_ = 0;
  uint64_t acks_received_ = 0;
  std::vector<uint64_t> acked_;       // per reactor: the last interest sequence it acknowledged
  // Closing a subscriber from inside a delivery loop must not change the
  // topic being walked: such unsubscriptions wait for the loop to end.
  uint32_t delivering_ = 0;
  std::vector<uint32_t> deferred_;
  BrokerStats stats_;
};

}  // namespace ringcast::pubsub
