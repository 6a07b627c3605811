// One thread of the fanout test: some subscribers and some publishers of
// ringcast's envelope protocol (seed 002) on one engine.
//
// Subscriber i (global index) joins channel bench-(i % C): it sends
//   {"type":"subscribe","data":{"channels":["bench-K"]},"request_id":"s1"}
// and is ready once a text message with "type":"subscribed" arrives (the
// "connected" greeting and anything else is ignored). Publisher p sends
//   {"type":"publish","data":{"channel":"bench-(N % C)","type":"bench",
//    "data":{"pub":p,"seq":N,"ts":T}},"request_id":"p"}
// for N = 0..M-1, where T is CLOCK_MONOTONIC ns (the due time at a fixed
// rate, so a stalled server shows as latency; the send time at full speed).
// The server answers each with "type":"published" (or "type":"error").
//
// Checking: a subscriber on channel K should see, from every publisher,
// exactly the seqs = K (mod C) in increasing order. Per (subscriber,
// publisher) the worker keeps the next expected seq: a higher seq is a gap
// (the skipped ones are counted); a lower one is a reorder if it fills a
// skipped seq (then it still counts as delivered), else a duplicate. After
// the publishers finish, the expected number of deliveries follows from how
// many messages each publisher sent; anything not delivered is lost.
#pragma once

#include "engine_worker.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace load {

// Shared by all fanout workers; written under the rules in mode_fanout.cpp.
struct FanoutShared {
  explicit FanoutShared(uint32_t publishers) : pub_sent(publishers) {}
  std::vector<std::atomic<uint64_t>> pub_sent;  // final per publisher, set before pubs_done
  std::atomic<uint32_t> pubs_done{0};           // workers whose publishers have all finished
  std::atomic<uint32_t> drained{0};             // workers that have every expected delivery
  std::atomic<uint64_t> publish_end_ns{0};      // latest publisher finish
};

struct FanoutPlan {
  const Target* target = nullptr;
  uint32_t sub_first = 0, subs = 0;  // global subscriber indexes [sub_first, +subs)
  uint32_t pub_first = 0, pubs = 0;  // global publisher indexes
  uint32_t channels = 1;
  uint32_t total_pubs = 1;
  uint64_t messages = 1000;          // per publisher
  double rate = 0;                   // this worker's publishes/s; 0 = as fast as possible
  uint64_t window = 0;               // unanswered publishes per publisher; 0 = no limit
  uint32_t max_connecting = 256;
  uint64_t setup_timeout_ns = 30'000'000'000;
  uint64_t close_timeout_ns = 2'000'000'000;
};

// One (subscriber, publisher) pair that saw something wrong.
struct PairProblem {
  uint32_t sub = 0, pub = 0, channel = 0;
  uint64_t gaps = 0, reorders = 0, duplicates = 0, missing = 0;
};

struct FanoutStats {
  uint64_t published = 0, acks = 0, publish_errors = 0;
  uint64_t delivered = 0;       // in order, or after a gap (first time seen)
  uint64_t expected = 0;
  uint64_t gaps = 0;            // seqs skipped over
  uint64_t reorders = 0;        // seq below the next expected one, filling a gap
  uint64_t duplicates = 0;      // seq below the next expected one, no gap open
  uint64_t misrouted = 0;       // wrong channel, or publisher out of range
  uint64_t other_messages = 0;  // neither a delivery nor a known reply
  uint64_t oversize = 0;        // longer than kMaxMessage, ignored
  uint64_t sub_errors = 0;      // "type":"error" to a subscriber
  uint64_t conns_lost = 0;
  uint64_t pairs_with_problems = 0;
  uint64_t subs_with_problems = 0;
  uint64_t first_delivery_ns = 0, last_delivery_ns = 0;
  std::string first_publish_error;
  std::string first_error;
  std::vector<PairProblem> worst;  // up to kMaxListed

  static constexpr size_t kMaxListed = 20;
  // Another thread's figures: counts add up, the delivery span widens, the
  // first errors are kept and `worst` fills up to kMaxListed.
  void add(const FanoutStats& o);
};

class FanoutWorker final : public EngineWorker {
 public:
  static constexpr size_t kMaxMessage = 65536;

  FanoutWorker(const FanoutPlan& plan, RunControl& rc, FanoutShared& shared, uint32_t workers);
  ~FanoutWorker() override;

  void run();

  FanoutStats stats;

 private:
  struct Peer;
  enum class Phase { setup, running, closing };

  bool setup();
  void loop();
  void on_open(Conn& c) override;
  void on_message_begin(Conn& c, uint8_t opcode) override;
  void on_data(Conn& c, const uint8_t* p, size_t n, bool last) override;
  void on_writable(Conn& c) override;
  void on_server_close(Conn& c, uint16_t code) override;
  void on_closed(Conn& c, EndKind kind, const char* why) override;
  void on_message(Conn& c, std::string_view msg);
  void on_delivery(Conn& c, Peer& s, std::string_view msg);
  bool publish(Conn& c, uint64_t ts);
  void pump(Conn& c);
  void advance_schedule(uint64_t now);
  void check_publishing_done(uint64_t now);
  void check_drained();
  void finish_stats();
  bool is_sub(const Conn& c) const { return c.index < p_.subs; }

  FanoutPlan p_;
  FanoutShared& sh_;
  uint32_t workers_;
  std::vector<Peer> peers_;
  // Per (local subscriber, publisher): next seq expected, seqs skipped,
  // late arrivals, late arrivals that filled a skip, duplicates, delivered.
  std::unique_ptr<uint32_t[]> next_, gaps_, reorders_, fills_, dups_, got_;
  Phase phase_ = Phase::setup;
  uint64_t t0_ = 0, end_ = UINT64_MAX;
  double period_ns_ = 0;
  uint64_t cursor_ = 0;
  bool schedule_done_ = false;
  bool pubs_done_ = false;
  bool expected_known_ = false;
  bool drained_ = false;
};

}  // namespace load
