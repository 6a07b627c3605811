// The server HTTP API node: one extra reactor (index W, after the W worker
// reactors) whose connections are application backends speaking HTTP/1.1
// with keep-alive. It is one more member of the cross-reactor mesh: its own
// Broker learns the workers' topic interest (and acks it), so a publish here
// is framed once and sent to exactly the workers with subscribers; anything
// about connections is asked of the workers with protocol::ControlCall
// messages and answered once they all have answered (or 503 after
// kCallDeadlineMs).
//
// A connection serves one request at a time: a request waiting for the
// workers holds it, and requests pipelined behind it wait in its input
// buffer, so answers leave in request order. The reactor thread never
// blocks. What each request means is api_dispatch.cpp; reading them is
// api_request.cpp; this file only moves bytes, calls and deadlines.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <simdjson.h>

#include "api/api_auth.hpp"
#include "api/api_dispatch.hpp"
#include "api/api_gather.hpp"
#include "api/api_request.hpp"
#include "api/metrics_text.hpp"
#include "core/mesh.hpp"
#include "core/reactor.hpp"
#include "pubsub/broker.hpp"
#include "ringcast/config.hpp"

namespace ringcast::api {

// What the Server tells the API node about the rest of the process
// (GET /readyz). Written by the Server's threads, read by the API reactor.
struct ApiState {
  std::atomic<uint32_t> workers_running{0};  // worker reactors whose loop runs now
  std::atomic<bool> stopping{false};         // a graceful stop has begun
  uint32_t workers = 0;                      // worker reactors configured; set before the API reactor starts
};

class ApiServer final : public core::ConnectionHandler, public pubsub::DeliverySink, public pubsub::MeshReceiver {
 public:
  // mesh has workers + 1 members; self (== the number of workers) is this
  // node's index in it. cfg and server are copied; mesh and state are used
  // live and must outlive the server (and its reactor).
  ApiServer(const ApiConfig& cfg, const ServerConfig& server, core::Mesh& mesh, uint32_t self, const ApiState& state);
  ~ApiServer() override;
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // core::ConnectionHandler
  void on_open(core::Reactor& r, uint32_t slot) override;
  void on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) override;
  void on_timer(core::Reactor& r, uint32_t slot) override;
  void on_close(core::Reactor& r, uint32_t slot) override;
  void on_reject(core::Reactor& r, uint32_t slot) override;
  void on_stop(core::Reactor& r) override;
  void on_turn(core::Reactor& r) override;
  uint64_t before_sleep(core::Reactor& r, uint64_t wait_ms) override;

  // pubsub::DeliverySink: the API node subscribes to nothing, so nothing is
  // ever delivered here.
  void deliver(core::Reactor& r, uint32_t slot, core::OutBuffer* b, uint32_t offset, uint32_t length) override;

  // pubsub::MeshReceiver: the workers' answers (kControlAnswer).
  void on_mesh(core::Reactor& r, const core::MeshMessage& m) override;

  // Frees the ControlCall of a message that was never received (teardown).
  static void discard(const core::MeshMessage& m);

  // How long a request waits for the workers' answers (kCallDeadlineMs
  // unless a test shortens it). Before the reactor runs.
  void set_call_deadline_ms(uint64_t ms) { call_deadline_ms_ = ms; }

 private:
  struct Conn;

  // Answers the requests waiting in the connection's input until one has to
  // wait for the workers, the input runs out, or the connection ends.
  void serve(core::Reactor& r, uint32_t slot);
  // Starts what dispatch decided; false if the connection ended.
  bool start(core::Reactor& r, uint32_t slot, Action&& a);
  // Writes an answer; false if the connection ended (closed after it).
  bool answer(core::Reactor& r, uint32_t slot, const ApiResponse& resp);
  bool publish(core::Reactor& r, const PublishRequest& p);
  bool write(core::Reactor& r, uint32_t slot, std::string_view bytes);
  void arm_timer(core::Reactor& r, uint32_t slot);
  bool ready() const;

  ApiConfig cfg_;
  ReaderLimits limits_;
  uint32_t request_timeout_ms_;
  uint64_t call_deadline_ms_ = kCallDeadlineMs;
  uint32_t workers_;
  const ApiState& state_;
  ApiKeys keys_;
  pubsub::Broker broker_;
  simdjson::dom::parser parser_;
  std::vector<std::unique_ptr<Conn>> conns_;  // by slot; null = not ours (closed)
  std::vector<uint32_t> stalled_;             // connections waiting for the mesh to drain
  std::string out_;                            // a response being written
  std::string topic_, payload_;                // a publish being framed
  uint32_t seq_ = 0;                           // numbers requests' calls
  bool stopping_ = false;
  ApiNodeStats stats_;
};

}  // namespace ringcast::api
