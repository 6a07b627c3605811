// One thread of the request mode: WebSocket connections that each keep
// `inflight` copies of one JSON text message outstanding (closed loop), and
// take any text message that comes back as the answer to the oldest one.
// That is what a client of a routed endpoint sees: ringcast forwards the
// message to a handler or an upstream and sends back what it answered.
//
// An answer that is a JSON error (it holds "error" or "error_code" as a
// string or a key, e.g. {"type":"error",...}) still completes a request but
// is counted as an error; the first one is kept. Latency = answer time - send
// time of the oldest outstanding request on that connection: exact with
// inflight 1; with more, answers that come back out of order (an upstream
// answers concurrent requests in any order) are attributed in FIFO order.
//
// The window is the echo mode's: requests sent in [measure, end) count; after
// `end` no new request goes out, the last answers are awaited (drain), then
// each connection closes.
#pragma once

#include "engine_worker.hpp"

#include <memory>
#include <string>
#include <vector>

namespace load {

struct RequestPlan {
  const Target* target = nullptr;
  std::string message;
  uint32_t inflight = 1;
  uint64_t quota = UINT64_MAX;  // measured requests this worker sends at most
  uint32_t first_conn = 0;
  uint32_t conns = 1;
  uint32_t max_connecting = 256;
  uint64_t setup_timeout_ns = 30'000'000'000;
  uint64_t drain_timeout_ns = 5'000'000'000;
};

struct RequestStats {
  uint64_t sent = 0;            // warmup included
  uint64_t answered = 0;        // every answer, errors included, warmup included
  uint64_t errors = 0;          // error answers, warmup included
  uint64_t measured = 0;        // answers to requests sent inside the window (in the histogram)
  uint64_t measured_errors = 0; // of which errors
  uint64_t measured_sent = 0;
  uint64_t unexpected = 0;      // a message while nothing was outstanding, or a binary one
  uint64_t oversize = 0;        // answers above kMaxAnswer bytes (counted, not inspected)
  uint64_t lost = 0;            // outstanding when a connection ended
  uint64_t conns_lost = 0;
  uint64_t last_answer_ns = 0;
  std::string first_error_answer;
  std::string first_error;

  void add(const RequestStats& o);
};

class RequestWorker final : public EngineWorker {
 public:
  static constexpr size_t kMaxAnswer = 65536;

  RequestWorker(const RequestPlan& plan, RunControl& rc);
  ~RequestWorker() override;

  void run();

  RequestStats stats;

 private:
  struct ConnReq;
  enum class Phase { setup, running, draining };

  bool setup();
  void loop();
  void on_open(Conn& c) override;
  void on_message_begin(Conn& c, uint8_t opcode) override;
  void on_data(Conn& c, const uint8_t* p, size_t n, bool last) override;
  void on_writable(Conn& c) override;
  void on_server_close(Conn& c, uint16_t code) override;
  void on_closed(Conn& c, EndKind kind, const char* why) override;
  void on_answer(Conn& c, std::string_view msg, bool inspected);
  bool may_send() const;
  void fill(Conn& c);
  void maybe_close(Conn& c);

  RequestPlan p_;
  std::vector<ConnReq> cr_;
  std::unique_ptr<uint64_t[]> stamps_;
  Phase phase_ = Phase::setup;
  uint64_t measure_ = 0, end_ = UINT64_MAX;
};

}  // namespace load
