// The HTTP/1.1 client of a reactor: POSTs JSON to the upstreams that routes
// name (`upstream = "http://127.0.0.1:7000/chat"`) and hands the answers back,
// without blocking and without a thread per request. One pool per reactor,
// owned by its ConnectionHandler, used on the reactor's thread only.
//
// Per target: up to `concurrency` requests in flight, each on its own
// keep-alive connection (no pipelining). A finished connection goes back to
// an idle stack (LIFO: the warmest is reused first; at most max_idle kept,
// each for idle_timeout_ms). Requests beyond the limit wait in a bounded FIFO;
// beyond that they fail at once (unavailable). The timeout covers waiting,
// connecting and the answer; when it strikes, the connection in use is
// closed, so a late answer can never be taken for a later request's. A
// reused connection that fails before the first response byte (the server
// closed it while idle) is retried once on a fresh connection.
//
// Callbacks: exactly one sink call per post(), never from inside post(), in
// completion order. Normally from on_turn() only; once the reactor is
// stopping, also straight from on_stop/on_close/... (the loop may end before
// another turn). The sink may call post() from inside them. A post() made
// after the stop began fails unavailable at the next on_turn (if any).
//
// Wiring, in the ConnectionHandler that owns the pool:
//   on_connected -> pool.on_connected (every call: only the pool connects)
//   on_data/on_timer/on_close(slot) -> pool.on_...(slot) when pool.owns(slot)
//     (they are outbound slots: Reactor::is_outbound(slot) is true too)
//   on_turn -> pool.on_turn; before_sleep -> pool.before_sleep; on_stop -> pool.on_stop
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/reactor.hpp"

namespace ringcast::http {
class ResponseParser;
}

namespace ringcast::protocol {

enum class UpstreamFailure : uint8_t {
  unavailable,  // connect refused/reset before any answer, queue full, stopping
  timeout,      // no complete answer within timeout_ms of post()
  error,        // garbage, too large, closed mid-answer
};
const char* to_string(UpstreamFailure why);

class UpstreamSink {
 public:
  virtual ~UpstreamSink() = default;
  // Exactly one of these per post(), never from inside post(). The views are
  // valid during the call only.
  virtual void on_upstream_answer(core::Reactor& r, uint64_t token, int status, std::string_view content_type,
                                  std::string_view body) = 0;
  virtual void on_upstream_failure(core::Reactor& r, uint64_t token, UpstreamFailure why) = 0;
};

struct UpstreamTarget {
  std::string url;
  uint32_t timeout_ms = 10000;
  uint32_t concurrency = 64;
  uint32_t max_idle = 0;             // idle connections kept; 0 = concurrency
  uint32_t idle_timeout_ms = 30000;  // an idle connection is closed after this
  uint32_t queue_limit = 0;          // requests waiting beyond concurrency; 0 = 4 x concurrency
};

// A larger answer body fails the request (error).
constexpr size_t kUpstreamMaxAnswerBytes = size_t(1) << 20;

// An http:// URL taken apart. host is as written (an IPv6 literal without
// its brackets); host_header is what the Host header carries.
struct UpstreamUrl {
  std::string host;
  uint16_t port = 80;
  std::string path;  // starts with '/', query included, fragment dropped
  std::string host_header;
};
// Only http:// (no userinfo); port default 80, path default "/". Returns
// false and *error if the URL is not one this client can call.
bool parse_upstream_url(std::string_view url, UpstreamUrl* out, std::string* error);

class UpstreamPool {
 public:
  explicit UpstreamPool(UpstreamSink& sink);
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;
  ~UpstreamPool();

  // At start, before the reactor runs (may resolve the host with
  // getaddrinfo, which blocks). Returns the target's index, or -1 and
  // *error. Adding the same target (every field equal) twice returns the
  // same index.
  int add_target(const UpstreamTarget& t, std::string* error);
  size_t target_count() const { return targets_.size(); }

  // POSTs body (Content-Type: application/json) to the target's path. The
  // body is copied. The outcome comes later through the sink, with token.
  void post(core::Reactor& r, int target, uint64_t token, std::string_view body);

  bool owns(uint32_t slot) const {
    return slot >= slot_base_ && slot - slot_base_ < by_slot_.size() && by_slot_[slot - slot_base_] != kNone;
  }
  void on_connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag);
  void on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes);
  void on_timer(core::Reactor& r, uint32_t slot);
  void on_close(core::Reactor& r, uint32_t slot);
  // Delivers finished requests to the sink and expires waiting ones.
  void on_turn(core::Reactor& r);
  // 0 while callbacks are waiting, else wait_ms capped by the next waiting
  // request's deadline.
  uint64_t before_sleep(uint64_t wait_ms);
  // Graceful stop: fails what waits (unavailable; delivered from inside this
  // call), closes idle connections; requests on a connection finish (or fail
  // unavailable when the reactor aborts the connection once its clients are
  // gone). Later post()s fail unavailable.
  void on_stop(core::Reactor& r);

  struct Stats {
    uint64_t requests = 0;     // post() calls
    uint64_t failures = 0;     // of those, answered with on_upstream_failure
    uint64_t in_flight = 0;    // posted, not yet delivered (waiting included)
    uint64_t connections = 0;  // upstream connections now (connecting, busy, idle, closing)
    uint64_t waiting = 0;      // in the FIFOs now
    uint64_t idle = 0;         // idle connections now
    uint64_t connects = 0;     // connections opened, ever
    uint64_t retries = 0;      // requests retried after a stale keep-alive connection
  };
  const Stats& stats() const { return stats_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  enum class ConnState : uint8_t { free, connecting, busy, idle, closing };
  enum class Outcome : uint8_t { pending, answer, failure };

  struct Target {
    UpstreamTarget cfg;
    sockaddr_storage addr;
    socklen_t addr_len = 0;
    std::string head;               // request head up to the Content-Length value
    std::vector<uint32_t> idle;     // connection ids, most recently used last
    std::vector<uint32_t> queue;    // ring of request ids waiting, capacity queue_limit
    uint32_t queue_head = 0, queue_count = 0;
    uint32_t active = 0;            // requests on a connection (connecting or sent)
    uint32_t max_idle = 0;
  };

  struct Conn;
  struct Request {
    std::string body;          // the request's JSON; then the answer's body
    std::string content_type;  // the answer's
    uint64_t token = 0;
    uint64_t deadline_ms = 0;
    int32_t target = -1;
    uint32_t conn = kNone;
    int status = 0;
    Outcome outcome = Outcome::pending;
    UpstreamFailure why = UpstreamFailure::error;
    bool retried = false;
  };

  uint32_t new_request();
  void free_request(uint32_t id);
  uint32_t new_conn(int32_t target);
  void free_conn(uint32_t id);
  Conn& conn(uint32_t id) { return *conns_[id]; }
  uint32_t& slot_entry(uint32_t slot) { return by_slot_[slot - slot_base_]; }

  // Puts the request on a connection: an idle one, else a new one.
  void start(core::Reactor& r, uint32_t req);
  void open_conn(core::Reactor& r, uint32_t req);
  void send_request(core::Reactor& r, uint32_t c);
  // A connection is done with its request and may carry another.
  void release_conn(core::Reactor& r, uint32_t c);
  // Closes a connection we give up on; it is freed in on_close/on_connected.
  void close_conn(core::Reactor& r, uint32_t c, bool graceful);
  void answer(uint32_t req, http::ResponseParser& p);
  void fail(uint32_t req, UpstreamFailure why);
  // A request left its connection (answered or failed): make room for the next.
  void leave_target(core::Reactor& r, int32_t target);
  void pump(core::Reactor& r, Target& t);
  void expire_waiting(uint64_t now_ms);
  void deliver(core::Reactor& r);
  void settle(core::Reactor& r);
  // The reactor events, before settle().
  void connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag);
  void received(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes);
  void timed_out(core::Reactor& r, uint32_t slot);
  void closed(core::Reactor& r, uint32_t slot);

  UpstreamSink& sink_;
  std::vector<Target> targets_;
  std::vector<std::unique_ptr<Request>> requests_;
  std::vector<uint32_t> free_requests_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<uint32_t> free_conns_;
  std::vector<uint32_t> by_slot_;    // reactor slot - slot_base_ -> connection id
  uint32_t slot_base_ = 0;           // the reactor's outbound_base()
  std::vector<uint32_t> done_;       // finished requests, delivered in on_turn
  std::vector<uint32_t> delivering_;
  uint64_t now_ms_ = 0;
  Stats stats_;
  bool stopping_ = false;
  bool delivering_now_ = false;
};

}  // namespace ringcast::protocol
