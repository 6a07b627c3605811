// ApiServer on a real reactor, with real worker reactors around it in a
// mesh of W+1: the workers are stand-ins (FakeWorker) that answer control
// calls with canned values and keep one subscriber to "acme|news", so the
// test sees the whole path: a TCP client, HTTP framing, keys, calls through
// the mesh, answers back, publishes fanned out by the API node's broker.
#include "api/api_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/listener.hpp"
#include "core/mesh.hpp"
#include "core/reactor.hpp"
#include "protocol/control.hpp"
#include "pubsub/broker.hpp"

namespace ringcast::api {
namespace {

using protocol::ControlCall;
using protocol::ControlOp;

constexpr uint32_t kWorkers = 2;
constexpr uint32_t kSubscriberSlot = 3;  // a pretend connection on each worker
constexpr uint32_t kGoneSlot = 7;        // the workers say this one is gone

class FakeWorker final : public core::ConnectionHandler, public pubsub::DeliverySink, public pubsub::MeshReceiver {
 public:
  FakeWorker(core::Mesh& mesh, uint32_t index) : index_(index), broker_(&mesh, index, *this) {
    broker_.set_receiver(this, &discard);
  }
  ~FakeWorker() override {
    for (Held& h : held_) delete h.call;
  }

  static void discard(const core::MeshMessage& m) {
    if (m.kind == protocol::kControlCall || m.kind == protocol::kControlAnswer)
      delete static_cast<ControlCall*>(m.ptr);
  }

  void on_open(core::Reactor&, uint32_t) override {}
  void on_data(core::Reactor&, uint32_t, std::span<uint8_t>) override {}
  void on_timer(core::Reactor&, uint32_t) override {}
  void on_close(core::Reactor&, uint32_t) override {}
  void on_reject(core::Reactor&, uint32_t) override {}
  void on_stop(core::Reactor&) override {}

  void on_turn(core::Reactor& r) override {
    if (!subscribed_) {
      subscribed_ = true;
      broker_.subscribe(kSubscriberSlot, "acme|news", &wait_seq_);
    }
    // Before broker_.on_turn, whose flush rings the API node's doorbell.
    for (size_t i = 0; i < held_.size();) {
      if (r.now_ms() < held_[i].at_ms) {
        ++i;
        continue;
      }
      broker_.send(held_[i].to, core::MeshMessage{protocol::kControlAnswer, uint16_t(index_), 0, 0, held_[i].call});
      held_.erase(held_.begin() + long(i));
    }
    broker_.on_turn(r);
    if (!subscription_ready.load() && broker_.barrier_passed(wait_seq_)) subscription_ready.store(true);
  }
  uint64_t before_sleep(core::Reactor&, uint64_t wait_ms) override {
    return broker_.before_sleep(held_.empty() ? wait_ms : std::min<uint64_t>(wait_ms, 5));
  }

  void deliver(core::Reactor&, uint32_t slot, core::OutBuffer* b, uint32_t offset, uint32_t length) override {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(slot, kSubscriberSlot);
    frames.emplace_back(reinterpret_cast<const char*>(b->data()) + offset, length);
  }

  void on_mesh(core::Reactor& r, const core::MeshMessage& m) override {
    ASSERT_EQ(m.kind, protocol::kControlCall);
    auto* c = static_cast<ControlCall*>(m.ptr);
    fill(*c);
    if (c->op == ControlOp::presence && hold_presence_ms.load() > 0) {
      held_.push_back({c, m.from, r.now_ms() + hold_presence_ms.load()});
      return;
    }
    broker_.send(m.from, core::MeshMessage{protocol::kControlAnswer, uint16_t(index_), 0, 0, c});
  }

  std::vector<ControlCall> calls_seen() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  std::vector<std::string> frames_seen() {
    std::lock_guard<std::mutex> lock(mu);
    return frames;
  }

  std::atomic<bool> subscription_ready{false};
  std::atomic<uint64_t> hold_presence_ms{0};

 private:
  struct Held {
    ControlCall* call;
    uint32_t to;
    uint64_t at_ms;
  };

  void fill(ControlCall& c) {
    {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back(c);
    }
    const bool gone = (c.conn & 0xFFFFFFFFu) == kGoneSlot;
    switch (c.op) {
      case ControlOp::send:
        c.status = gone ? 410 : 200;
        break;
      case ControlOp::close:
        c.status = gone ? 410 : 204;
        break;
      case ControlOp::info:
        c.status = gone ? 410 : 200;
        c.body = R"({"reactor":)" + std::to_string(index_) + "}";
        break;
      case ControlOp::disconnect_user:
        c.status = 200;
        c.body = std::to_string(index_ + 1);
        break;
      case ControlOp::channels:
        c.status = 200;
        c.body = R"([{"channel":"news","subscribers":2},{"channel":"w)" + std::to_string(index_) +
                 R"(","subscribers":1}])";
        break;
      case ControlOp::presence:
        c.status = 200;
        c.body = R"({"channel":")" + c.name + R"(","members":[]})";
        break;
      case ControlOp::stats:
        c.status = 200;
        c.stats.connections_open = 10 + index_;
        c.stats.delivery_latency[0] = 1;
        break;
    }
  }

  uint32_t index_;
  pubsub::Broker broker_;
  bool subscribed_ = false;
  uint64_t wait_seq_ = 0;
  std::vector<Held> held_;
  std::mutex mu;
  std::vector<std::string> frames;
  std::vector<ControlCall> calls;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  ~Client() { ::close(fd_); }

  void send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(size_t(n));
    }
  }

  // One response (status 0: the connection ended or nothing came in 5 s).
  Response read(bool head_only = false) {
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r;
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    r.status = std::stoi(head.substr(9, 3));
    size_t at = head.find("\r\n");
    while (at != std::string::npos) {
      const size_t next = head.find("\r\n", at + 2);
      const std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
      const size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = char(tolower(c));
      r.headers[name] = line.substr(colon + 2);
      at = next;
    }
    if (r.status == 100 || head_only) return r;
    const size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < len)
      if (!fill()) return Response{};
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  // The server closed the connection (EOF) with nothing more to read.
  bool closed() { return buf_.empty() && !fill(); }

  Response request(const std::string& method, const std::string& target, const std::string& body = {},
                   const std::string& extra = "Authorization: Bearer key-1\r\n") {
    send(method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
    return read(method == "HEAD");
  }

 private:
  bool fill() {
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, size_t(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

template <class F>
bool eventually(F&& f, int ms = 3000) {
  for (int i = 0; i < ms; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return f();
}

class ApiServerTest : public testing::Test {
 protected:
  void SetUp() override {
    mesh_ = std::make_unique<core::Mesh>(kWorkers + 1, 64);
    for (uint32_t i = 0; i <= kWorkers; ++i) {
      core::ReactorOptions o;
      o.index = i;
      o.max_connections = 32;
      o.recv_buffers = 16;
      o.recv_buffer_bytes = 4096;
      o.close_timeout_ms = 500;
      o.shutdown_timeout_ms = 1000;
      std::unique_ptr<core::ConnectionHandler> handler;
      if (i < kWorkers) {
        auto w = std::make_unique<FakeWorker>(*mesh_, i);
        workers_.push_back(w.get());
        handler = std::move(w);
      } else {
        std::string err;
        o.listen_fd = app::open_listener("127.0.0.1", 0, err);
        ASSERT_GE(o.listen_fd, 0) << err;
        port_ = app::bound_port(o.listen_fd);
        ApiConfig cfg;
        cfg.keys = {"key-1", "key-2"};
        cfg.max_body_bytes = 4096;
        cfg.close_code = 4100;
        ServerConfig sc;
        sc.handshake_timeout_ms = 2000;
        state_.workers = kWorkers;
        state_.workers_running = kWorkers;
        auto api = std::make_unique<ApiServer>(cfg, sc, *mesh_, kWorkers, state_);
        api->set_call_deadline_ms(300);
        handler = std::move(api);
      }
      reactors_.push_back(std::make_unique<core::Reactor>(o, std::move(handler)));
      mesh_->set_doorbell(i, reactors_.back()->wake_fd());
    }
    for (auto& r : reactors_) {
      core::Reactor* p = r.get();
      threads_.emplace_back([this, p] {
        const std::string err = p->run(ready_);
        if (!err.empty()) {
          std::lock_guard<std::mutex> lock(err_mu_);
          errors_.push_back(err);
        }
        done_.fetch_add(1);
      });
    }
    ASSERT_TRUE(eventually([&] { return ready_.load() + done_.load() == int(kWorkers + 1); }, 5000));
    {
      std::lock_guard<std::mutex> lock(err_mu_);
      ASSERT_TRUE(errors_.empty()) << errors_[0];
    }
    // Every worker's subscription is acknowledged by every peer, the API node included.
    for (FakeWorker* w : workers_) ASSERT_TRUE(eventually([&] { return w->subscription_ready.load(); }));
  }

  void TearDown() override {
    for (auto& r : reactors_) r->request_stop();
    for (auto& t : threads_) t.join();
    reactors_.clear();
    mesh_.reset();
  }

  std::unique_ptr<core::Mesh> mesh_;
  std::vector<std::unique_ptr<core::Reactor>> reactors_;
  std::vector<FakeWorker*> workers_;
  std::vector<std::thread> threads_;
  std::atomic<int> ready_{0}, done_{0};
  std::mutex err_mu_;
  std::vector<std::string> errors_;
  ApiState state_;
  uint16_t port_ = 0;
};

TEST_F(ApiServerTest, HealthReadinessAndKeys) {
  Client c(port_);
  Response r = c.request("GET", "/healthz", {}, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers["connection"], "keep-alive");
  r = c.request("GET", "/readyz", {}, "");
  EXPECT_EQ(r.status, 200);
  state_.workers_running = kWorkers - 1;
  r = c.request("GET", "/readyz", {}, "");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"ready":false})");
  state_.workers_running = kWorkers;
  state_.stopping = true;
  EXPECT_EQ(c.request("GET", "/readyz", {}, "").status, 503);
  state_.stopping = false;
  r = c.request("GET", "/metrics", {}, "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer");
  r = c.request("GET", "/metrics", {}, "Authorization: Bearer key-3\r\n");
  EXPECT_EQ(r.status, 401);
  r = c.request("GET", "/metrics", {}, "Authorization: Bearer key-2\r\n");
  EXPECT_EQ(r.status, 200);
  r = c.request("HEAD", "/healthz", {}, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-length"], "15");
  r = c.request("GET", "/healthz", {}, "");  // nothing of a body was sent for HEAD
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
}

TEST_F(ApiServerTest, PublishReachesTheSubscribedWorkers) {
  Client c(port_);
  Response r = c.request("POST", "/api/v1/publish",
                         R"({"channel":"news","tenant_id":"acme","type":"alert","data":{"n":1}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"published":true,"channel":"news"})");
  // Another tenant's channel of the same name, then the same channel again:
  // FIFO per pair of reactors, so once the third arrives the second would have.
  EXPECT_EQ(c.request("POST", "/api/v1/publish", R"({"channel":"news","tenant_id":"other"})").status, 200);
  EXPECT_EQ(c.request("POST", "/api/v1/broadcast", R"({"channels":["news","nobody"],"tenant_id":"acme"})").status,
            200);
  for (FakeWorker* w : workers_) {
    ASSERT_TRUE(eventually([&] { return w->frames_seen().size() >= 2; }));
    const std::vector<std::string> frames = w->frames_seen();
    ASSERT_EQ(frames.size(), 2u);
    const std::string& f = frames[0];
    ASSERT_GE(f.size(), 2u);
    EXPECT_EQ(uint8_t(f[0]), 0x81);  // FIN + text
    EXPECT_EQ(size_t(uint8_t(f[1])), f.size() - 2);  // unmasked, 7-bit length
    EXPECT_EQ(f.find(R"({"type":"alert","data":{"n":1},"channel":"news","timestamp":")"), 2u) << f;
    EXPECT_NE(frames[1].find(R"({"type":"message","data":{},"channel":"news","timestamp":")"), std::string::npos);
  }
}

TEST_F(ApiServerTest, ConnectionCallsGoToTheOwningWorker) {
  Client c(port_);
  Response r = c.request("POST", "/api/v1/connections/0100000000000005", "hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"sent":true})");
  const std::vector<ControlCall> seen = workers_[1]->calls_seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].op, ControlOp::send);
  EXPECT_EQ(seen[0].conn, 0x0100000000000005ull);
  EXPECT_EQ(seen[0].text, "hello");
  EXPECT_TRUE(workers_[0]->calls_seen().empty());

  r = c.request("POST", "/api/v1/connections/0000000000000007", "x");
  EXPECT_EQ(r.status, 410);
  EXPECT_NE(r.body.find(R"("code":"GONE")"), std::string::npos);
  r = c.request("DELETE", "/api/v1/connections/0000000000000005");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers.count("content-length"), 0u);
  EXPECT_EQ(workers_[0]->calls_seen().back().close_code, 4100);
  r = c.request("DELETE", "/api/v1/connections/0000000000000005?code=4000&reason=bye");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(workers_[0]->calls_seen().back().close_code, 4000);
  EXPECT_EQ(workers_[0]->calls_seen().back().text, "bye");
  r = c.request("GET", "/api/v1/connections/0100000000000005");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"reactor":1})");
  r = c.request("GET", "/api/v1/connections/0200000000000005");  // reactor 2 of 2
  EXPECT_EQ(r.status, 404);
}

TEST_F(ApiServerTest, FanOutQuestions) {
  Client c(port_);
  Response r = c.request("GET", "/api/v1/channels?tenant_id=acme");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"channels":[{"channel":"news","subscribers":4},{"channel":"w0","subscribers":1},)"
            R"({"channel":"w1","subscribers":1}]})");
  r = c.request("POST", "/api/v1/users/bob/disconnect", R"({"tenant_id":"acme"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"closed":3})");
  EXPECT_EQ(workers_[0]->calls_seen().back().name, "bob");
  EXPECT_EQ(workers_[1]->calls_seen().back().tenant, "acme");
  r = c.request("GET", "/api/v1/channels/room-1/presence");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"channel":"room-1","members":[]})");
  r = c.request("GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("ringcast_connections_open{reactor=\"0\"} 10\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("ringcast_connections_open{reactor=\"1\"} 11\n"), std::string::npos);
  EXPECT_NE(r.body.find("ringcast_delivery_latency_seconds_count 2\n"), std::string::npos);
  EXPECT_NE(r.body.find("ringcast_api_requests_total{status=\"200\"} 3\n"), std::string::npos);
}

TEST_F(ApiServerTest, PipelinedRequestsAnswerInOrder) {
  Client c(port_);
  const std::string auth = "Authorization: Bearer key-1\r\n";
  c.send("GET /api/v1/channels HTTP/1.1\r\n" + auth + "\r\n" +                       // waits for both workers
         "GET /healthz HTTP/1.1\r\n\r\n" +                                           // immediate
         "POST /api/v1/connections/0100000000000002 HTTP/1.1\r\n" + auth +          // waits for worker 1
         "Content-Length: 2\r\n\r\nhi" +
         "GET /nope HTTP/1.1\r\n" + auth + "\r\n");
  Response r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find(R"({"channels":[)"), 0u);
  r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"sent":true})");
  r = c.read();
  EXPECT_EQ(r.status, 404);
}

TEST_F(ApiServerTest, LateAnswersTimeOutWith503) {
  workers_[0]->hold_presence_ms = 700;  // the deadline is 300 ms
  Client c(port_);
  c.send("GET /api/v1/channels/c1/presence HTTP/1.1\r\nAuthorization: Bearer key-1\r\n\r\n"
         "GET /healthz HTTP/1.1\r\n\r\n");
  Response r = c.read();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(R"("code":"UNAVAILABLE")"), std::string::npos);
  r = c.read();
  EXPECT_EQ(r.status, 200);
  // The late answer arrives and is dropped (and freed: ASan checks) while the
  // connection goes on.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  workers_[0]->hold_presence_ms = 0;
  r = c.request("GET", "/api/v1/channels/c2/presence");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"channel":"c2","members":[]})");
}

TEST_F(ApiServerTest, FramingErrorsCloseTheConnection) {
  {
    Client c(port_);
    c.send("POST /api/v1/publish HTTP/1.1\r\nAuthorization: Bearer key-1\r\nContent-Length: 5000\r\n\r\n");
    Response r = c.read();
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.closed());
  }
  {
    Client c(port_);
    c.send("POST /api/v1/publish HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(c.read().status, 411);
    EXPECT_TRUE(c.closed());
  }
  {
    Client c(port_);
    c.send(std::string("\x16\x03\x01\x00\x05hello", 10));
    EXPECT_EQ(c.read().status, 400);
    EXPECT_TRUE(c.closed());
  }
  {
    Client c(port_);
    c.send("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    Response r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.closed());
  }
}

TEST_F(ApiServerTest, ExpectContinue) {
  Client c(port_);
  const std::string body = R"({"channel":"news","tenant_id":"acme"})";
  c.send("POST /api/v1/publish HTTP/1.1\r\nAuthorization: Bearer key-1\r\nExpect: 100-continue\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_EQ(c.read().status, 100);
  c.send(body);
  EXPECT_EQ(c.read().status, 200);
}

TEST_F(ApiServerTest, IncompleteRequestTimesOutWith408) {
  Client c(port_);
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // the blank line never comes (limit 2 s)
  const Response r = c.read();
  EXPECT_EQ(r.status, 408);
  EXPECT_TRUE(c.closed());
}

TEST_F(ApiServerTest, StopAnswersTheWaitingRequestThenCloses) {
  workers_[0]->hold_presence_ms = 150;  // within the 300 ms deadline
  Client idle(port_);
  EXPECT_EQ(idle.request("GET", "/healthz", {}, "").status, 200);
  Client busy(port_);
  busy.send("GET /api/v1/channels/c1/presence HTTP/1.1\r\nAuthorization: Bearer key-1\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the call is out
  reactors_[kWorkers]->request_stop();
  EXPECT_TRUE(idle.closed());  // idle keep-alive connections go at once
  Response r = busy.read();    // the waiting one gets its answer first
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"channel":"c1","members":[]})");
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(busy.closed());
}

}  // namespace
}  // namespace ringcast::api
