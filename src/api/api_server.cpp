#include "api/api_server.hpp"

#include <cassert>
#include <cstring>

#include "core/clock.hpp"
#include "protocol/control.hpp"
#include "protocol/topics.hpp"
#include "ws/frame_writer.hpp"

namespace ringcast::api {

namespace {

// A keep-alive connection with no request for this long is closed.
constexpr uint64_t kIdleTimeoutMs = 60000;
// Input held behind a request that waits for the workers, beyond one more
// whole request: a client pipelining more than that is cut off.
constexpr size_t kExtraBuffered = 64 * 1024;

std::string_view framing_code(int status) {
  switch (status) {
    case 411: return "LENGTH_REQUIRED";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 431: return "HEADERS_TOO_LARGE";
    default: return "BAD_REQUEST";
  }
}

}  // namespace

struct ApiServer::Conn {
  explicit Conn(const ReaderLimits& limits) : reader(limits) {}

  RequestReader reader;
  std::optional<Gather> gather;  // the answers awaited
  uint64_t waiting = 0;          // their calls' id; 0 = not waiting
  uint64_t deadline_ms = 0;      // when waiting ends with 503
  uint64_t request_since_ms = 0; // a request (or the first) began arriving; 0 = idle
  bool keep_alive = true;        // the current request's
  bool head_only = false;        // the current request is a HEAD
  bool close_after = false;      // stopping: the awaited answer is the last
  bool served = false;           // at least one request answered
  bool stalled = false;          // waiting for the mesh to drain before the next request
};

ApiServer::ApiServer(const ApiConfig& cfg, const ServerConfig& server, core::Mesh& mesh, uint32_t self,
                     const ApiState& state)
    : cfg_(cfg),
      limits_{server.max_request_head_bytes, cfg.max_body_bytes},
      request_timeout_ms_(server.handshake_timeout_ms),
      workers_(self),
      state_(state),
      keys_(cfg.keys),
      broker_(&mesh, self, *this) {
  assert(mesh.size() == self + 1 && "the API node is the mesh's last member");
  broker_.set_receiver(this, &ApiServer::discard);
}

ApiServer::~ApiServer() = default;

void ApiServer::discard(const core::MeshMessage& m) {
  if (m.kind == protocol::kControlCall || m.kind == protocol::kControlAnswer)
    delete static_cast<protocol::ControlCall*>(m.ptr);
}

bool ApiServer::ready() const {
  const uint32_t workers = state_.workers ? state_.workers : workers_;
  return !stopping_ && !state_.stopping.load(std::memory_order_acquire) && workers > 0 &&
         state_.workers_running.load(std::memory_order_acquire) >= workers;
}

// --- connections -----------------------------------------------------------

void ApiServer::on_open(core::Reactor& r, uint32_t slot) {
  if (slot >= conns_.size()) conns_.resize(size_t(slot) + 1);
  conns_[slot] = std::make_unique<Conn>(limits_);
  if (stopping_) conns_[slot]->close_after = true;
  arm_timer(r, slot);
}

void ApiServer::on_reject(core::Reactor& r, uint32_t slot) {
  ++stats_.requests[503];
  out_.clear();
  write_response(out_, error_response(503, "UNAVAILABLE", "too many API connections"), false, false);
  if (write(r, slot, out_)) r.close(slot, true);
}

void ApiServer::on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) {
  Conn* c = slot < conns_.size() ? conns_[slot].get() : nullptr;
  if (!c) return;
  c->reader.append(bytes.data(), bytes.size());
  if (c->waiting || c->stalled) {
    // The answer in progress holds the connection; what follows waits.
    if (c->reader.buffered() > limits_.max_head_bytes + limits_.max_body_bytes + kExtraBuffered) r.close(slot, false);
    return;
  }
  serve(r, slot);
}

void ApiServer::on_timer(core::Reactor& r, uint32_t slot) {
  Conn* c = slot < conns_.size() ? conns_[slot].get() : nullptr;
  if (!c) return;
  if (c->waiting) {
    if (r.now_ms() < c->deadline_ms) {
      arm_timer(r, slot);
      return;
    }
    // Answers still on their way are freed when they arrive (on_mesh).
    c->waiting = 0;
    c->gather.reset();
    if (answer(r, slot, Gather::timeout())) serve(r, slot);
    return;
  }
  if (c->reader.partial()) {
    c->head_only = false;
    ApiResponse resp = error_response(408, "REQUEST_TIMEOUT", "the request did not arrive in time");
    resp.close = true;
    answer(r, slot, resp);
    return;
  }
  r.close(slot, true);  // idle
}

void ApiServer::on_close(core::Reactor&, uint32_t slot) {
  if (slot < conns_.size()) conns_[slot].reset();
}

void ApiServer::on_stop(core::Reactor& r) {
  stopping_ = true;
  r.for_each_open([&](uint32_t slot) {
    Conn* c = slot < conns_.size() ? conns_[slot].get() : nullptr;
    if (!c) return;
    if (c->waiting) {
      c->close_after = true;  // answered (or 503 at its deadline), then closed
    } else {
      r.close(slot, true);
    }
  });
}

void ApiServer::on_turn(core::Reactor& r) {
  broker_.on_turn(r);
  if (stalled_.empty() || broker_.spilled() != 0) return;
  std::vector<uint32_t> resume = std::move(stalled_);
  stalled_.clear();
  for (uint32_t slot : resume) {
    Conn* c = slot < conns_.size() ? conns_[slot].get() : nullptr;
    if (!c || !c->stalled) continue;
    c->stalled = false;
    serve(r, slot);
  }
}

uint64_t ApiServer::before_sleep(core::Reactor&, uint64_t wait_ms) {
  // (A spill makes the broker look again within a millisecond.)
  return broker_.before_sleep(wait_ms);
}

void ApiServer::deliver(core::Reactor&, uint32_t, core::OutBuffer*, uint32_t, uint32_t) {
  assert(false && "the API node has no subscribers");
}

// --- requests --------------------------------------------------------------

void ApiServer::serve(core::Reactor& r, uint32_t slot) {
  for (;;) {
    Conn* c = conns_[slot].get();
    if (!c || c->waiting) break;
    switch (c->reader.next()) {
      case RequestReader::Step::need_more:
        arm_timer(r, slot);
        return;
      case RequestReader::Step::send_continue:
        if (!write(r, slot, kContinue)) return;
        continue;
      case RequestReader::Step::error: {
        const int status = c->reader.error_status();
        ApiResponse resp = error_response(status, framing_code(status), c->reader.error_message());
        resp.close = true;
        c->head_only = false;
        answer(r, slot, resp);
        return;
      }
      case RequestReader::Step::ready: {
        if (broker_.spilled() != 0) {
          // Backpressure: a worker's queue is full, so publishing more would
          // only grow memory. This connection's requests wait (unread, then
          // held by TCP) until the mesh drains.
          c->stalled = true;
          stalled_.push_back(slot);
          ++stats_.stalls;
          return;
        }
        const http::RequestHead& h = c->reader.head();
        c->keep_alive = h.keep_alive;
        c->head_only = h.method == "HEAD";
        const DispatchContext ctx{cfg_, keys_, workers_, ready(), parser_};
        Action a = dispatch(ctx, h, c->reader.body());
        c->reader.consume();  // the head's and body's views end here
        c->served = true;
        c->request_since_ms = 0;
        if (!start(r, slot, std::move(a))) return;
        continue;
      }
    }
  }
  if (conns_[slot]) arm_timer(r, slot);
}

bool ApiServer::start(core::Reactor& r, uint32_t slot, Action&& a) {
  switch (a.kind) {
    case Action::Kind::respond:
      return answer(r, slot, a.response);
    case Action::Kind::publish:
      if (!publish(r, a.publish)) return answer(r, slot, error_response(500, "INTERNAL", "out of memory"));
      return answer(r, slot, a.response);
    case Action::Kind::call:
      break;
  }
  if (a.calls.empty()) return answer(r, slot, a.gather->finish(stats_));
  if (++seq_ == 0) ++seq_;
  // The slot in the low half finds the connection again; the sequence tells
  // this request's answers from a timed-out one's.
  const uint64_t id = (uint64_t(seq_) << 32) | slot;
  for (auto& call : a.calls) {
    assert(call->part < workers_);
    call->id = id;
    const uint32_t to = call->part;
    broker_.send(to, core::MeshMessage{protocol::kControlCall, uint16_t(broker_.self()), 0, 0, call.release()});
  }
  Conn& c = *conns_[slot];
  c.waiting = id;
  c.gather = std::move(a.gather);
  c.deadline_ms = r.now_ms() + call_deadline_ms_;
  r.set_timer(slot, c.deadline_ms);
  return true;
}

void ApiServer::on_mesh(core::Reactor& r, const core::MeshMessage& m) {
  if (m.kind != protocol::kControlAnswer) {
    // A call is never sent to the API node; free it all the same. Other
    // kinds (kPresenceDelta) are for worker reactors only: the API node
    // holds no presence and cannot free what it does not know.
    if (m.kind == protocol::kControlCall) discard(m);
    return;
  }
  std::unique_ptr<protocol::ControlCall> call(static_cast<protocol::ControlCall*>(m.ptr));
  const uint32_t slot = uint32_t(call->id & 0xFFFFFFFFu);
  Conn* c = slot < conns_.size() ? conns_[slot].get() : nullptr;
  if (!c || c->waiting == 0 || c->waiting != call->id) return;  // late: answered 503, or closed
  c->gather->add(parser_, *call);
  if (!c->gather->complete()) return;
  const ApiResponse resp = c->gather->finish(stats_);
  c->waiting = 0;
  c->gather.reset();
  if (answer(r, slot, resp)) serve(r, slot);
}

bool ApiServer::publish(core::Reactor& r, const PublishRequest& p) {
  const uint64_t now = core::wall_ms();
  for (const std::string& channel : p.channels) {
    protocol::make_topic(topic_, p.tenant, protocol::TopicKind::channel, channel);
    if (!broker_.has_audience(topic_)) continue;  // nobody anywhere: nothing to frame (nor counted, as on a worker)
    ++stats_.publishes;
    compose_published(payload_, p.type, p.data, channel, now);
    const size_t header = ws::frame_header_size(payload_.size(), false);
    const size_t total = header + payload_.size();
    if (total > UINT32_MAX) return false;
    uint8_t* dst = broker_.publish_reserve(r, uint32_t(total));
    if (!dst) return false;
    ws::write_frame_header(dst, ws::Opcode::text, payload_.size());
    std::memcpy(dst + header, payload_.data(), payload_.size());
    broker_.publish_commit(r, topic_, uint32_t(total), pubsub::kNobody);
  }
  return true;
}

bool ApiServer::answer(core::Reactor& r, uint32_t slot, const ApiResponse& resp) {
  Conn& c = *conns_[slot];
  ++stats_.requests[resp.status];
  const bool keep = c.keep_alive && !resp.close && !c.close_after && !stopping_;
  out_.clear();
  write_response(out_, resp, keep, c.head_only);
  if (!write(r, slot, out_)) return false;
  if (!keep) {
    r.close(slot, true);  // after what is queued has gone out
    return false;
  }
  return true;
}

bool ApiServer::write(core::Reactor& r, uint32_t slot, std::string_view bytes) {
  uint8_t* p = r.out_reserve(slot, bytes.size());
  if (!p) {
    r.close(slot, false);  // out of memory
    return false;
  }
  std::memcpy(p, bytes.data(), bytes.size());
  r.out_commit(slot, bytes.size());
  return true;
}

void ApiServer::arm_timer(core::Reactor& r, uint32_t slot) {
  Conn& c = *conns_[slot];
  if (c.waiting) {
    r.set_timer(slot, c.deadline_ms);
  } else if (c.reader.partial() || !c.served) {
    // A request is arriving (or the first is awaited): it has the
    // handshake's time to arrive whole.
    if (c.request_since_ms == 0) c.request_since_ms = r.now_ms();
    r.set_timer(slot, c.request_since_ms + request_timeout_ms_);
  } else {
    r.set_timer(slot, r.now_ms() + kIdleTimeoutMs);
  }
}

}  // namespace ringcast::api
