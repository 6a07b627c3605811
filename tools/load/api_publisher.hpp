// The publishing side of the api-publish mode: ONE keep-alive HTTP/1.1
// connection to ringcast's server API, on its own thread and io_uring (an
// Engine in raw mode), POSTing
//
//   POST /api/v1/publish HTTP/1.1
//   Host: 127.0.0.1:9090
//   Authorization: Bearer KEY
//   Content-Type: application/json
//   Content-Length: N
//
//   {"channel":"bench-K","type":"bench","data":{"pub":0,"seq":N,"ts":T}}
//
// for N = 0..M-1, K = N % C, pipelined: at most `window` requests unanswered.
// HTTP/1.1 answers pipelined requests in order, so the k-th response is the
// k-th request's (http_response.hpp reads them). A 200 counts as published;
// anything else as an error (the first one is kept, status and body). T is
// CLOCK_MONOTONIC ns: the send time at full speed, the due time at a fixed
// rate, so the subscribers (FanoutWorker, publisher index 0) measure
// publish-to-delivery latency from it.
//
// Hand-off to the subscriber workers (the fanout rules, mode_fanout.cpp):
// when publishing is over (all M sent and answered, the time is up, or the
// connection is gone) the publisher stores how many it sent in
// pub_sent[0] and publish_end_ns, then increments pubs_done (release).
#pragma once

#include "engine.hpp"
#include "fanout_worker.hpp"
#include "histogram.hpp"
#include "http_response.hpp"
#include "open_all.hpp"
#include "run_control.hpp"

#include <memory>
#include <string>

namespace load {

struct ApiPublishPlan {
  const Target* target = nullptr;  // the API, http://
  std::string path;                // "/api/v1/publish"
  std::string api_key;             // "": no Authorization header
  uint32_t channels = 1;
  uint64_t messages = 100000;
  double rate = 0;                 // publishes/s; 0 = as fast as the window allows
  uint32_t window = 32;            // unanswered requests at most
  uint64_t setup_timeout_ns = 10'000'000'000;
  uint64_t close_timeout_ns = 2'000'000'000;
};

struct ApiPublishStats {
  uint64_t sent = 0;           // requests sent
  uint64_t ok = 0;             // answered 200
  uint64_t errors = 0;         // answered with another status
  uint64_t unanswered = 0;     // sent, no answer when publishing ended
  uint64_t bad_responses = 0;  // responses the reader refused (the connection is then dropped)
  bool conn_lost = false;      // the connection ended before publishing was over
  bool server_said_close = false;  // a response carried Connection: close
  uint64_t last_answer_ns = 0;
  uint64_t publish_end_ns = 0;
  std::string first_error;     // "HTTP 401: {...}", or what happened to the connection
};

class ApiPublisher final : public EngineHandler {
 public:
  ApiPublisher(const ApiPublishPlan& plan, RunControl& rc, FanoutShared& shared);
  ~ApiPublisher() override;

  void run();

  // HttpResponseReader's sink.
  void on_response(int status, std::string_view body, bool close);

  Live live;
  Histogram hist;  // request sent (due) -> its answer
  ApiPublishStats stats;
  EngineStats engine_stats;
  std::string setup_error;

 private:
  enum class Phase { setup, running, done, closing };

  void loop();
  void on_open(Conn& c) override;
  void on_data(Conn& c, const uint8_t* p, size_t n, bool last) override;
  void on_writable(Conn& c) override;
  void on_closed(Conn& c, EndKind kind, const char* why) override;
  void pump();
  bool send_one(uint64_t ts);
  void advance_schedule(uint64_t now);
  void maybe_done(uint64_t now);
  void mark_done(uint64_t now);
  uint64_t outstanding() const { return stats.sent - stats.ok - stats.errors; }

  ApiPublishPlan p_;
  RunControl& rc_;
  FanoutShared& sh_;
  Engine engine_;
  HttpResponseReader reader_;
  std::string prefix_;  // request line and headers up to "Content-Length: "
  std::unique_ptr<uint64_t[]> stamps_;  // per outstanding request, ring of `window`
  Phase phase_ = Phase::setup;
  SetupTally setup_;
  uint64_t t0_ = 0, end_ = UINT64_MAX;
  double period_ns_ = 0;
  uint64_t owed_ = 0;  // fixed rate: requests due so far
  bool stopped_sending_ = false;
};

}  // namespace load
