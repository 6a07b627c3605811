// UpstreamPool for real: a Reactor on a thread with a small handler that owns
// a pool, and a plain blocking HTTP server on threads (one per connection)
// whose behaviour each test scripts.
#include "protocol/upstream_pool.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringcast::protocol {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// The server side.

struct SeenRequest {
  std::string head, body;
  int conn = 0;    // which accepted connection (0, 1, ...)
  int on_conn = 0; // which request on that connection
};

enum class Act { respond, respond_close, close, hang };

struct Reply {
  Act act = Act::respond;
  std::string bytes;
  int delay_ms = 0;
};

std::string ok(std::string_view body, std::string_view ct = "application/json", std::string_view extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(ct) + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

class TestServer {
 public:
  using Behavior = std::function<Reply(const SeenRequest&)>;

  // idle_close_ms: close a connection that stays this long without a new
  // request after an answer (a server's keep-alive timeout); 0 = never.
  explicit TestServer(Behavior b, int idle_close_ms = 0) : behavior_(std::move(b)), idle_close_ms_(idle_close_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 128), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() { stop(); }

  void stop() {
    if (stopping_.exchange(true)) return;
    acceptor_.join();
    ::close(fd_);
    std::vector<std::thread> ts;
    {
      std::lock_guard<std::mutex> l(mu_);
      ts.swap(threads_);
    }
    for (auto& t : ts) t.join();
  }

  std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  int max_in_progress() const { return max_in_progress_.load(); }
  int closed_by_client() const { return closed_by_client_.load(); }
  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  void accept_loop() {
    while (!stopping_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      const int index = connections_.fetch_add(1);
      std::lock_guard<std::mutex> l(mu_);
      threads_.emplace_back([this, c, index] { serve(c, index); });
    }
  }

  // Waits up to ms (0 = until stop) for the fd to be readable; false on stop/timeout.
  bool wait_readable(int fd, int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (!stopping_.load()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) == 1) return true;
      if (ms > 0 && Clock::now() >= until) return false;
    }
    return false;
  }

  // One request (head + Content-Length body) from buf/fd; false at EOF,
  // error, stop, or idle timeout.
  bool read_request(int fd, std::string& buf, SeenRequest& req, int idle_ms) {
    size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!wait_readable(fd, buf.empty() ? idle_ms : 0)) return false;
      char tmp[65536];
      const ssize_t n = ::read(fd, tmp, sizeof(tmp));
      if (n <= 0) {
        if (n == 0 && buf.empty()) ++closed_by_client_;
        return false;
      }
      buf.append(tmp, size_t(n));
    }
    req.head = buf.substr(0, head_end + 4);
    size_t length = 0;
    const size_t cl = req.head.find("Content-Length: ");
    if (cl != std::string::npos) length = std::stoul(req.head.substr(cl + 16));
    while (buf.size() < head_end + 4 + length) {
      if (!wait_readable(fd, 0)) return false;
      char tmp[65536];
      const ssize_t n = ::read(fd, tmp, sizeof(tmp));
      if (n <= 0) return false;
      buf.append(tmp, size_t(n));
    }
    req.body = buf.substr(head_end + 4, length);
    buf.erase(0, head_end + 4 + length);
    return true;
  }

  static void write_all(int fd, std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(size_t(n));
    }
  }

  void serve(int fd, int index) {
    std::string buf;
    for (int on_conn = 0;; ++on_conn) {
      SeenRequest req;
      req.conn = index;
      req.on_conn = on_conn;
      if (!read_request(fd, buf, req, on_conn == 0 ? 0 : idle_close_ms_)) break;
      ++requests_;
      const int now = ++in_progress_;
      int seen_max = max_in_progress_.load();
      while (now > seen_max && !max_in_progress_.compare_exchange_weak(seen_max, now)) {
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(req);
      }
      const Reply rep = behavior_(req);
      for (int waited = 0; waited < rep.delay_ms && !stopping_.load(); waited += 5) std::this_thread::sleep_for(5ms);
      --in_progress_;
      if (rep.act == Act::close) break;
      if (rep.act == Act::hang) {
        // Keep it open without answering until the client gives up (or stop).
        while (wait_readable(fd, 0)) {
          char tmp[4096];
          if (::read(fd, tmp, sizeof(tmp)) <= 0) {
            ++closed_by_client_;
            break;
          }
        }
        break;
      }
      write_all(fd, rep.bytes);
      if (rep.act == Act::respond_close) break;
    }
    ::close(fd);
  }

  Behavior behavior_;
  int idle_close_ms_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, requests_{0}, in_progress_{0}, max_in_progress_{0}, closed_by_client_{0};
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// ---------------------------------------------------------------------------
// The reactor side: a handler that owns a pool and forwards to it.

struct Outcome {
  uint64_t token = 0;
  bool answered = false;
  int status = 0;
  std::string content_type, body;
  UpstreamFailure why = UpstreamFailure::error;
  uint64_t at_ms = 0;  // since the harness started
};

class Harness : public core::ConnectionHandler, public UpstreamSink {
 public:
  Harness() : pool(*this) {}

  UpstreamPool pool;
  // Runs on the reactor thread after each answer/failure is recorded.
  std::function<void(core::Reactor&, const Outcome&)> after_outcome;

  // --- ConnectionHandler ---
  void on_open(core::Reactor& r, uint32_t slot) override { r.close(slot, false); }
  void on_reject(core::Reactor& r, uint32_t slot) override { r.close(slot, false); }
  void on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) override {
    ASSERT_TRUE(pool.owns(slot));
    pool.on_data(r, slot, bytes);
  }
  void on_timer(core::Reactor& r, uint32_t slot) override {
    ASSERT_TRUE(pool.owns(slot));
    pool.on_timer(r, slot);
  }
  void on_close(core::Reactor& r, uint32_t slot) override {
    ASSERT_TRUE(pool.owns(slot));
    pool.on_close(r, slot);
  }
  void on_connected(core::Reactor& r, uint32_t slot, int res, uint64_t tag) override {
    pool.on_connected(r, slot, res, tag);
  }
  void on_stop(core::Reactor& r) override { pool.on_stop(r); }
  void on_turn(core::Reactor& r) override {
    std::vector<std::function<void(core::Reactor&)>> todo;
    {
      std::lock_guard<std::mutex> l(mu_);
      todo.swap(commands_);
    }
    for (auto& f : todo) f(r);
    pool.on_turn(r);
  }
  uint64_t before_sleep(core::Reactor&, uint64_t wait_ms) override { return pool.before_sleep(wait_ms); }

  // --- UpstreamSink ---
  void on_upstream_answer(core::Reactor& r, uint64_t token, int status, std::string_view content_type,
                          std::string_view body) override {
    EXPECT_FALSE(in_post_) << "a sink call from inside post()";
    Outcome o;
    o.token = token;
    o.answered = true;
    o.status = status;
    o.content_type = std::string(content_type);
    o.body = std::string(body);
    record(r, std::move(o));
  }
  void on_upstream_failure(core::Reactor& r, uint64_t token, UpstreamFailure why) override {
    EXPECT_FALSE(in_post_) << "a sink call from inside post()";
    Outcome o;
    o.token = token;
    o.why = why;
    record(r, std::move(o));
  }

  // --- for the test thread ---
  void attach(core::Reactor* r, Clock::time_point t0) {
    reactor_ = r;
    t0_ = t0;
  }

  // Runs f on the reactor thread, soon; does not wait.
  void later(std::function<void(core::Reactor&)> f) {
    {
      std::lock_guard<std::mutex> l(mu_);
      commands_.push_back(std::move(f));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(reactor_->wake_fd(), &one, sizeof(one));
  }

  // Runs f on the reactor thread and waits for it.
  void sync(std::function<void(core::Reactor&)> f) {
    std::promise<void> done;
    later([&](core::Reactor& r) {
      f(r);
      done.set_value();
    });
    done.get_future().wait();
  }

  void post(int target, uint64_t token, std::string body) {
    later([this, target, token, body = std::move(body)](core::Reactor& r) { post_now(r, target, token, body); });
  }

  void post_now(core::Reactor& r, int target, uint64_t token, std::string_view body) {
    in_post_ = true;
    pool.post(r, target, token, body);
    in_post_ = false;
  }

  UpstreamPool::Stats stats() {
    UpstreamPool::Stats s;
    sync([&](core::Reactor&) { s = pool.stats(); });
    return s;
  }

  // Waits until n outcomes were recorded (or the time is up); returns them.
  std::vector<Outcome> wait_outcomes(size_t n, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, limit, [&] { return outcomes_.size() >= n; });
    return outcomes_;
  }

  std::vector<Outcome> outcomes() {
    std::lock_guard<std::mutex> l(mu_);
    return outcomes_;
  }

  uint64_t elapsed_ms() const {
    return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0_).count());
  }

  core::Reactor& reactor() { return *reactor_; }

 private:
  void record(core::Reactor& r, Outcome o) {
    o.at_ms = elapsed_ms();
    {
      std::lock_guard<std::mutex> l(mu_);
      outcomes_.push_back(o);
    }
    cv_.notify_all();
    if (after_outcome) after_outcome(r, o);
  }

  core::Reactor* reactor_ = nullptr;  // which owns this handler
  Clock::time_point t0_ = Clock::now();
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(core::Reactor&)>> commands_;
  std::vector<Outcome> outcomes_;
  bool in_post_ = false;
};

// A reactor on a thread whose handler is a Harness (the reactor owns it, as
// it owns any handler); stopped at the end of the test if still running.
class Fixture {
 public:
  Fixture() : owned_(std::make_unique<Harness>()), h_(owned_.get()) {}
  ~Fixture() {
    if (thread_.joinable()) stop();
  }
  Harness& h() { return *h_; }
  int add(UpstreamTarget t) {
    std::string err;
    const int i = h_->pool.add_target(t, &err);
    EXPECT_GE(i, 0) << err;
    return i;
  }
  void start(core::ReactorOptions opts = {}) {
    opts.listen_fd = -1;
    opts.max_connections = 4;
    opts.recv_buffers = 64;
    opts.recv_buffer_bytes = 16384;
    opts.shutdown_timeout_ms = 3000;
    opts.close_timeout_ms = 500;
    reactor_ = std::make_unique<core::Reactor>(opts, std::move(owned_));
    h_->attach(reactor_.get(), Clock::now());
    thread_ = std::thread([this] {
      error_ = reactor_->run(ready_);
      ended_ = true;
    });
    while (ready_.load() == 0 && !ended_.load()) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(ready_.load(), 1) << error_;
  }
  // Stops the reactor and waits for it; returns how long the stop took.
  uint64_t stop() {
    const auto t = Clock::now();
    reactor_->request_stop();
    thread_.join();
    EXPECT_EQ(error_, "");
    return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
  }

 private:
  std::unique_ptr<Harness> owned_;  // until the reactor takes it
  Harness* h_;
  std::unique_ptr<core::Reactor> reactor_;
  std::thread thread_;
  std::string error_;
  std::atomic<int> ready_{0};
  std::atomic<bool> ended_{false};
};

UpstreamTarget target(const TestServer& s, std::string_view path = "/", uint32_t timeout_ms = 3000,
                      uint32_t concurrency = 8) {
  UpstreamTarget t;
  t.url = s.url(path);
  t.timeout_ms = timeout_ms;
  t.concurrency = concurrency;
  return t;
}

// A test's usual start: target `t` added, the reactor running. Returns the
// target's index.
int start_with(Fixture& f, const UpstreamTarget& t) {
  const int i = f.add(t);
  f.start();
  return i;
}

// Posts `body` as `token` to target `t` and waits until `total` outcomes are
// recorded in all; returns them.
std::vector<Outcome> post_wait(Fixture& f, int t, uint64_t token, std::string body, size_t total) {
  f.h().post(t, token, std::move(body));
  return f.h().wait_outcomes(total);
}

// The pool started with target `t` and one request "{}" posted: its outcome
// (a failure recorded, and a default Outcome, if none came).
Outcome only_outcome(Fixture& f, const UpstreamTarget& t) {
  const std::vector<Outcome> out = post_wait(f, start_with(f, t), 1, "{}", 1);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? Outcome{} : out[0];
}

// A TCP socket bound to a free port of 127.0.0.1 (listening with `backlog`
// unless it is negative); `a` gets its address.
int loopback_socket(sockaddr_in& a, int backlog = -1) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  a = sockaddr_in{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (backlog >= 0) ::listen(fd, backlog);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return fd;
}

// ---------------------------------------------------------------------------

TEST(UpstreamUrl, Parses) {
  UpstreamUrl u;
  std::string err;
  ASSERT_TRUE(parse_upstream_url("http://127.0.0.1:7000/chat", &u, &err)) << err;
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 7000);
  EXPECT_EQ(u.path, "/chat");
  EXPECT_EQ(u.host_header, "127.0.0.1:7000");
  ASSERT_TRUE(parse_upstream_url("HTTP://Example.com", &u, &err)) << err;
  EXPECT_EQ(u.host, "Example.com");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.path, "/");
  EXPECT_EQ(u.host_header, "Example.com");
  ASSERT_TRUE(parse_upstream_url("http://[::1]:8080?x=1#frag", &u, &err)) << err;
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.path, "/?x=1");
  EXPECT_EQ(u.host_header, "[::1]:8080");
  ASSERT_TRUE(parse_upstream_url("http://h:80/a/b?c=d", &u, &err)) << err;
  EXPECT_EQ(u.host_header, "h");
  EXPECT_EQ(u.path, "/a/b?c=d");
}

TEST(UpstreamUrl, Rejects) {
  UpstreamUrl u;
  for (const char* bad : {"https://example.com/", "ftp://x/", "example.com", "http://", "http:///path", "http://h:/",
                          "http://h:0/", "http://h:65536/", "http://h:12x/", "http://user:pw@h/", "http://[::1/",
                          "http://[::1]x/", "http://[abc]/", "http://h/a b", "http://h/\x01"}) {
    std::string err;
    EXPECT_FALSE(parse_upstream_url(bad, &u, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(UpstreamPool, AddTarget) {
  Fixture f;
  std::string err;
  UpstreamTarget a;
  a.url = "http://127.0.0.1:7000/chat";
  const int i = f.h().pool.add_target(a, &err);
  EXPECT_EQ(i, 0);
  EXPECT_EQ(f.h().pool.add_target(a, &err), 0) << "the same target twice is one target";
  UpstreamTarget b = a;
  b.timeout_ms = 5;
  EXPECT_EQ(f.h().pool.add_target(b, &err), 1);
  UpstreamTarget c;
  c.url = "https://127.0.0.1/";
  EXPECT_EQ(f.h().pool.add_target(c, &err), -1);
  EXPECT_NE(err.find("https"), std::string::npos);
  UpstreamTarget d = a;
  d.concurrency = 0;
  EXPECT_EQ(f.h().pool.add_target(d, &err), -1);
  UpstreamTarget e;
  e.url = "http://no-such-host.invalid/";
  EXPECT_EQ(f.h().pool.add_target(e, &err), -1);
  EXPECT_NE(err.find("resolve"), std::string::npos);
  UpstreamTarget l;
  l.url = "http://localhost:7000/";
  EXPECT_EQ(f.h().pool.add_target(l, &err), 2) << err;
  EXPECT_EQ(f.h().pool.target_count(), 3u);
}

TEST(UpstreamPool, AnswersAndRequestFormat) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok("{\"echo\":" + r.body + "}")}; });
  Fixture f;
  const int t = start_with(f, target(server, "/chat?room=1"));
  f.h().post(t, 7, "{\"a\":1}");
  auto out = f.h().wait_outcomes(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].token, 7u);
  EXPECT_TRUE(out[0].answered);
  EXPECT_EQ(out[0].status, 200);
  EXPECT_EQ(out[0].content_type, "application/json");
  EXPECT_EQ(out[0].body, "{\"echo\":{\"a\":1}}");
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  const std::string& head = seen[0].head;
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "POST /chat?room=1 HTTP/1.1");
  EXPECT_NE(head.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Type: application/json\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Length: 7\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nUser-Agent: ringcast\r\n"), std::string::npos) << head;
  EXPECT_EQ(seen[0].body, "{\"a\":1}");
  f.stop();
  const auto& s = f.h().pool.stats();
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST(UpstreamPool, NonSuccessStatusIsAnAnswer) {
  TestServer server([](const SeenRequest&) {
    return Reply{Act::respond, "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\nbusy"};
  });
  Fixture f;
  const Outcome o = only_outcome(f, target(server));
  EXPECT_TRUE(o.answered);
  EXPECT_EQ(o.status, 503);
  EXPECT_EQ(o.content_type, "text/plain");
  EXPECT_EQ(o.body, "busy");
}

// Ten requests one after the other, each posted from inside the sink's
// callback for the previous one: one connection carries them all.
TEST(UpstreamPool, KeepAliveReuse) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok(r.body)}; });
  Fixture f;
  const int t = f.add(target(server));
  f.h().after_outcome = [&](core::Reactor& r, const Outcome& o) {
    if (o.token < 9) f.h().post_now(r, t, o.token + 1, std::to_string(o.token + 1));
  };
  f.start();
  auto out = post_wait(f, t, 0, "0", 10);
  ASSERT_EQ(out.size(), 10u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_TRUE(out[i].answered);
    EXPECT_EQ(out[i].token, i);
    EXPECT_EQ(out[i].body, std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 1);
  const auto s = f.h().stats();
  EXPECT_EQ(s.connects, 1u);
  EXPECT_EQ(s.connections, 1u);
  EXPECT_EQ(s.idle, 1u);
  EXPECT_EQ(s.retries, 0u);
}

TEST(UpstreamPool, ConnectionCloseAnswerIsNotReused) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond_close, ok(r.body, "application/json", "Connection: close\r\n")}; });
  Fixture f;
  const int t = start_with(f, target(server));
  ASSERT_EQ(post_wait(f, t, 1, "a", 1).size(), 1u);
  auto out = post_wait(f, t, 2, "b", 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].answered && out[1].answered);
  EXPECT_EQ(out[1].body, "b");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(f.h().stats().retries, 0u);
}

// The server closes a keep-alive connection that stayed idle: the pool sees
// the FIN, forgets the connection, and the next request goes on a new one.
TEST(UpstreamPool, ServerClosesIdleConnection) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok(r.body)}; }, /*idle_close_ms=*/30);
  Fixture f;
  const int t = start_with(f, target(server));
  ASSERT_EQ(post_wait(f, t, 1, "a", 1).size(), 1u);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(f.h().stats().idle, 0u);
  auto out = post_wait(f, t, 2, "b", 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].answered);
  EXPECT_EQ(out[1].body, "b");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(f.h().stats().retries, 0u);
}

// The race the retry is for: the server drops the reused connection just
// as the request arrives, before answering. Retried once, on a fresh one.
TEST(UpstreamPool, StaleKeepAliveIsRetriedOnce) {
  TestServer server([](const SeenRequest& r) {
    if (r.conn == 0 && r.on_conn == 1) return Reply{Act::close, ""};
    return Reply{Act::respond, ok(r.body)};
  });
  Fixture f;
  const int t = start_with(f, target(server));
  ASSERT_EQ(post_wait(f, t, 1, "a", 1).size(), 1u);
  auto out = post_wait(f, t, 2, "b", 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].answered) << to_string(out[1].why);
  EXPECT_EQ(out[1].body, "b");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(f.h().stats().retries, 1u);
}

// A fresh connection that closes without an answer is not retried, and a
// retried request that fails again is not retried twice.
TEST(UpstreamPool, ClosedWithoutAnswer) {
  TestServer server([](const SeenRequest& r) {
    if (r.conn == 0 && r.on_conn == 0) return Reply{Act::respond, ok(r.body)};
    return Reply{Act::close, ""};
  });
  Fixture f;
  const int t = start_with(f, target(server));
  ASSERT_EQ(post_wait(f, t, 1, "a", 1).size(), 1u);
  f.h().post(t, 2, "b");  // reused conn 0 closes -> retried on conn 1, which closes too
  auto out = f.h().wait_outcomes(2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[1].answered);
  EXPECT_EQ(out[1].why, UpstreamFailure::unavailable);
  f.h().post(t, 3, "c");  // a fresh connection (no idle one left) closes: no retry
  out = f.h().wait_outcomes(3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out[2].answered);
  EXPECT_EQ(out[2].why, UpstreamFailure::unavailable);
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(f.h().stats().retries, 1u);
}

TEST(UpstreamPool, ClosedMidAnswerIsAnError) {
  TestServer server([](const SeenRequest&) {
    return Reply{Act::respond_close, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"};
  });
  Fixture f;
  const Outcome o = only_outcome(f, target(server));
  EXPECT_FALSE(o.answered);
  EXPECT_EQ(o.why, UpstreamFailure::error);
}

TEST(UpstreamPool, AnswerUntilEof) {
  TestServer server([](const SeenRequest&) {
    return Reply{Act::respond_close, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"eof\":true}"};
  });
  Fixture f;
  const Outcome o = only_outcome(f, target(server));
  EXPECT_TRUE(o.answered);
  EXPECT_EQ(o.body, "{\"eof\":true}");
}

TEST(UpstreamPool, ChunkedAnswer) {
  TestServer server([](const SeenRequest&) {
    return Reply{Act::respond,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
                 "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"};
  });
  Fixture f;
  const int t = start_with(f, target(server));
  f.h().post(t, 1, "{}");
  auto out = post_wait(f, t, 2, "{}", 2);
  ASSERT_EQ(out.size(), 2u);
  for (const Outcome& o : out) {
    EXPECT_TRUE(o.answered);
    EXPECT_EQ(o.body, "{\"a\":1}");
    EXPECT_EQ(o.content_type, "application/json");
  }
}

TEST(UpstreamPool, Garbage) {
  TestServer server([](const SeenRequest&) { return Reply{Act::respond, "this is not http\r\n\r\n"}; });
  Fixture f;
  const Outcome o = only_outcome(f, target(server));
  EXPECT_FALSE(o.answered);
  EXPECT_EQ(o.why, UpstreamFailure::error);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.h().stats().connections, 0u) << "a connection that spoke garbage is closed";
}

TEST(UpstreamPool, TooLarge) {
  const std::string big(kUpstreamMaxAnswerBytes + 1, 'x');
  const std::string exact(kUpstreamMaxAnswerBytes, 'y');
  TestServer server([&](const SeenRequest& r) {
    if (r.body == "announced") return Reply{Act::respond, "HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n"};
    if (r.body == "sent") return Reply{Act::respond_close, "HTTP/1.1 200 OK\r\n\r\n" + big};
    return Reply{Act::respond, ok(exact)};
  });
  Fixture f;
  const int t = start_with(f, target(server));
  f.h().post(t, 1, "announced");
  f.h().post(t, 2, "sent");
  auto out = post_wait(f, t, 3, "exact", 3);
  ASSERT_EQ(out.size(), 3u);
  for (const Outcome& o : out) {
    if (o.token == 3) {
      EXPECT_TRUE(o.answered);
      EXPECT_EQ(o.body.size(), kUpstreamMaxAnswerBytes);
    } else {
      EXPECT_FALSE(o.answered) << o.token;
      EXPECT_EQ(o.why, UpstreamFailure::error) << o.token;
    }
  }
}

TEST(UpstreamPool, RefusedIsUnavailable) {
  sockaddr_in a;
  ::close(loopback_socket(a));
  Fixture f;
  UpstreamTarget t;
  t.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  const int i = f.add(t);
  f.start();
  f.h().post(i, 1, "{}");
  f.h().post(i, 2, "{}");
  auto out = f.h().wait_outcomes(2);
  ASSERT_EQ(out.size(), 2u);
  for (const Outcome& o : out) {
    EXPECT_FALSE(o.answered);
    EXPECT_EQ(o.why, UpstreamFailure::unavailable);
  }
  const auto s = f.h().stats();
  EXPECT_EQ(s.connections, 0u);
  EXPECT_EQ(s.failures, 2u);
}

TEST(UpstreamPool, InvalidTargetIsAnError) {
  Fixture f;
  f.start();
  f.h().post(3, 1, "{}");
  f.h().post(-1, 2, "{}");
  auto out = f.h().wait_outcomes(2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].why, UpstreamFailure::error);
  EXPECT_EQ(out[1].why, UpstreamFailure::error);
}

// The server answers the first request after the timeout: the request
// times out, its connection is closed, and the late answer never reaches
// the next request (which gets its own, on a new connection).
TEST(UpstreamPool, TimeoutAndNoLateAnswer) {
  TestServer server([](const SeenRequest& r) {
    if (r.body == "slow") return Reply{Act::respond, ok("late"), 400};
    return Reply{Act::respond, ok(r.body)};
  });
  Fixture f;
  const int t = start_with(f, target(server, "/", /*timeout_ms=*/150, /*concurrency=*/1));
  auto out = post_wait(f, t, 1, "slow", 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].answered);
  EXPECT_EQ(out[0].why, UpstreamFailure::timeout);
  EXPECT_GE(out[0].at_ms, 140u);
  EXPECT_LT(out[0].at_ms, 1000u);
  out = post_wait(f, t, 2, "fast", 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].answered);
  EXPECT_EQ(out[1].body, "fast");
  std::this_thread::sleep_for(400ms);  // the late answer has been written by now
  EXPECT_EQ(f.h().outcomes().size(), 2u);
  EXPECT_EQ(server.connections(), 2);
}

// An answer that never comes: the hung connection is closed at the deadline.
TEST(UpstreamPool, HungServerTimesOut) {
  TestServer server([](const SeenRequest&) { return Reply{Act::hang, ""}; });
  Fixture f;
  const int t = start_with(f, target(server, "/", 200, 4));
  f.h().post(t, 1, "{}");
  auto out = post_wait(f, t, 2, "{}", 2);
  ASSERT_EQ(out.size(), 2u);
  for (const Outcome& o : out) {
    EXPECT_EQ(o.why, UpstreamFailure::timeout);
    EXPECT_GE(o.at_ms, 190u);
  }
  const auto until = Clock::now() + 2s;
  while (server.closed_by_client() < 2 && Clock::now() < until) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(server.closed_by_client(), 2);
  EXPECT_EQ(f.h().stats().connections, 0u);
}

// A connect that never completes counts against the same deadline.
TEST(UpstreamPool, ConnectTimeout) {
  // A listener with a full accept queue drops SYNs: the connect hangs.
  sockaddr_in a;
  const int lfd = loopback_socket(a, 0);
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(50ms);
  Fixture f;
  UpstreamTarget t;
  t.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  t.timeout_ms = 150;
  const int i = f.add(t);
  f.start();
  f.h().post(i, 1, "{}");
  auto out = f.h().wait_outcomes(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].why, UpstreamFailure::timeout);
  EXPECT_GE(out[0].at_ms, 140u);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.h().stats().connections, 0u) << "the pending connect was cancelled";
  f.stop();
  for (int c : fillers) ::close(c);
  ::close(lfd);
}

TEST(UpstreamPool, ConcurrencyLimit) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok(r.body), 60}; });
  Fixture f;
  const int t = start_with(f, target(server, "/", 5000, /*concurrency=*/2));
  for (uint64_t i = 0; i < 6; ++i) f.h().post(t, i, std::to_string(i));
  auto out = f.h().wait_outcomes(6);
  ASSERT_EQ(out.size(), 6u);
  for (const Outcome& o : out) {
    EXPECT_TRUE(o.answered);
    EXPECT_EQ(o.body, std::to_string(o.token));
  }
  EXPECT_EQ(server.max_in_progress(), 2);
  EXPECT_EQ(server.connections(), 2);
  // Waiting requests go in order: the first two first, the last two last.
  EXPECT_LE(std::max(out[0].token, out[1].token), 1u);
  EXPECT_GE(std::min(out[4].token, out[5].token), 4u);
  const auto s = f.h().stats();
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.idle, 2u);
}

TEST(UpstreamPool, QueueOverflowIsUnavailable) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok(r.body), 100}; });
  Fixture f;
  const int t = f.add(target(server, "/", 5000, /*concurrency=*/1));  // queue: 4
  f.start();
  // All in one turn, so nothing is answered in between.
  f.h().later([&](core::Reactor& r) {
    for (uint64_t i = 0; i < 7; ++i) f.h().post_now(r, t, i, std::to_string(i));
  });
  auto out = f.h().wait_outcomes(7);
  ASSERT_EQ(out.size(), 7u);
  // The two over the limit fail first, at once.
  EXPECT_EQ(out[0].token, 5u);
  EXPECT_EQ(out[1].token, 6u);
  EXPECT_EQ(out[0].why, UpstreamFailure::unavailable);
  EXPECT_EQ(out[1].why, UpstreamFailure::unavailable);
  EXPECT_LT(out[1].at_ms, out[2].at_ms);
  for (size_t i = 2; i < 7; ++i) {
    EXPECT_TRUE(out[i].answered);
    EXPECT_EQ(out[i].token, i - 2);
  }
  EXPECT_EQ(server.connections(), 1);
}

// Requests still waiting when their time is up fail without being sent.
TEST(UpstreamPool, WaitingRequestsTimeOut) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok(r.body), 500}; });
  Fixture f;
  const int t = start_with(f, target(server, "/", /*timeout_ms=*/200, /*concurrency=*/1));
  f.h().later([&](core::Reactor& r) {
    for (uint64_t i = 0; i < 3; ++i) f.h().post_now(r, t, i, "x");
  });
  auto out = f.h().wait_outcomes(3);
  ASSERT_EQ(out.size(), 3u);
  for (const Outcome& o : out) {
    EXPECT_EQ(o.why, UpstreamFailure::timeout);
    EXPECT_GE(o.at_ms, 190u);
    EXPECT_LT(o.at_ms, 600u);
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.requests(), 1) << "waiting requests are never sent after their deadline";
}

TEST(UpstreamPool, IdleLimitAndIdleTimeout) {
  TestServer server([](const SeenRequest& r) { return Reply{Act::respond, ok(r.body), 50}; });
  Fixture f;
  UpstreamTarget tg = target(server, "/", 5000, 4);
  tg.max_idle = 1;
  tg.idle_timeout_ms = 200;
  const int t = f.add(tg);
  f.start();
  f.h().later([&](core::Reactor& r) {
    for (uint64_t i = 0; i < 4; ++i) f.h().post_now(r, t, i, "x");
  });
  ASSERT_EQ(f.h().wait_outcomes(4).size(), 4u);
  EXPECT_EQ(server.connections(), 4);
  auto s = f.h().stats();
  EXPECT_EQ(s.idle, 1u);
  EXPECT_EQ(s.connections, 1u);
  std::this_thread::sleep_for(400ms);
  s = f.h().stats();
  EXPECT_EQ(s.idle, 0u) << "closed after idle_timeout_ms";
  EXPECT_EQ(s.connections, 0u);
  EXPECT_EQ(server.closed_by_client(), 4);
}

// Graceful stop: waiting requests fail (unavailable), later posts too, and
// the reactor ends promptly with a request still in flight.
TEST(UpstreamPool, Stop) {
  TestServer server([](const SeenRequest&) { return Reply{Act::hang, ""}; });
  Fixture f;
  const int t = start_with(f, target(server, "/", 10000, 1));
  f.h().later([&](core::Reactor& r) {
    for (uint64_t i = 0; i < 3; ++i) f.h().post_now(r, t, i, "x");
  });
  const auto until = Clock::now() + 2s;
  while (server.requests() < 1 && Clock::now() < until) std::this_thread::sleep_for(2ms);
  const uint64_t took = f.stop();
  EXPECT_LT(took, 1500u);
  auto out = f.h().outcomes();
  // The two waiting ones failed unavailable; the one in flight failed when
  // the reactor ended its connection.
  ASSERT_EQ(out.size(), 3u);
  for (const Outcome& o : out) EXPECT_EQ(o.why, UpstreamFailure::unavailable) << o.token;
  EXPECT_EQ(f.h().pool.stats().connections, 0u);
}

}  // namespace
}  // namespace ringcast::protocol
