// Reactor::connect: outbound TCP connections in the reactor's ring, run for
// real (a reactor on a thread, plain blocking sockets as the other side).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/reactor.hpp"

namespace ringcast::core {
namespace {

// A handler made of hooks; unset hooks do nothing.
struct Hooks : ConnectionHandler {
  std::function<void(Reactor&)> turn;
  std::function<void(Reactor&, uint32_t)> open, timer, close;
  std::function<void(Reactor&, uint32_t, std::span<uint8_t>)> data;
  std::function<void(Reactor&, uint32_t, int, uint64_t)> connected;
  std::function<void(Reactor&)> stop;
  int stops = 0;

  void on_open(Reactor& r, uint32_t s) override {
    if (open) open(r, s);
  }
  void on_data(Reactor& r, uint32_t s, std::span<uint8_t> b) override {
    if (data) data(r, s, b);
  }
  void on_timer(Reactor& r, uint32_t s) override {
    if (timer) timer(r, s);
  }
  void on_close(Reactor& r, uint32_t s) override {
    if (close) close(r, s);
  }
  void on_reject(Reactor& r, uint32_t s) override { r.close(s, false); }
  void on_stop(Reactor& r) override {
    ++stops;
    if (stop) stop(r);
  }
  void on_turn(Reactor& r) override {
    if (turn) turn(r);
  }
  void on_connected(Reactor& r, uint32_t s, int res, uint64_t tag) override {
    if (connected) connected(r, s, res, tag);
  }
};

ReactorOptions small_options(int listen_fd = -1) {
  ReactorOptions o;
  o.max_connections = 16;
  o.max_outbound = 8;
  o.recv_buffers = 64;
  o.recv_buffer_bytes = 4096;
  o.close_timeout_ms = 1000;
  o.shutdown_timeout_ms = 3000;
  o.listen_fd = listen_fd;
  return o;
}

// A listening socket on 127.0.0.1, port chosen by the kernel.
int listen_local(sockaddr_in* addr, int backlog = 16) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::listen(fd, backlog), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *addr = a;
  return fd;
}

// An address nobody listens on: bound, then closed.
sockaddr_in closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return a;
}

// A listener whose accept queue is full: a SYN to it is dropped, so a
// connect to it stays pending (until SYN retries run out, minutes later).
struct FullListener {
  sockaddr_in addr{};
  int fd = -1;
  std::vector<int> fillers;
  FullListener() {
    fd = listen_local(&addr, 0);
    // Backlog 0 still queues one connection; two more make sure it is full.
    for (int i = 0; i < 3; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      fillers.push_back(c);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~FullListener() {
    for (int c : fillers) ::close(c);
    ::close(fd);
  }
};

int accept_within(int listen_fd, int ms) {
  pollfd p{listen_fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return -1;
  return ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
}

// Reads until `want` bytes arrived, EOF or ms passed.
std::string read_some(int fd, size_t want, int ms) {
  std::string got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (got.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, int(left.count())) != 1) break;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, size_t(n));
  }
  return got;
}

// True once the peer's FIN arrives (read returns 0) within ms.
bool eof_within(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  char c;
  return ::read(fd, &c, 1) == 0;
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    ASSERT_GT(n, 0);
    s.remove_prefix(size_t(n));
  }
}

void queue(Reactor& r, uint32_t slot, std::string_view s) {
  uint8_t* p = r.out_reserve(slot, s.size());
  ASSERT_NE(p, nullptr);
  std::memcpy(p, s.data(), s.size());
  r.out_commit(slot, s.size());
}

// Runs the reactor on a thread while `side` runs on this one; the reactor
// must finish (its handler requests the stop) within limit_ms, or the test
// fails and the reactor is stopped.
struct ReactorRun {
  std::unique_ptr<Reactor> reactor;
  Hooks* hooks;
  std::string error;
  uint64_t ran_ms = 0;

  explicit ReactorRun(ReactorOptions o) {
    auto h = std::make_unique<Hooks>();
    hooks = h.get();
    reactor = std::make_unique<Reactor>(o, std::move(h));
  }

  void go(const std::function<void()>& side, int limit_ms = 10000) {
    std::atomic<int> ready{0};
    std::atomic<bool> done{false};
    const auto t0 = std::chrono::steady_clock::now();
    std::thread t([&] {
      error = reactor->run(ready);
      done = true;
    });
    while (ready.load() == 0 && !done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (side) side();
    const auto until = t0 + std::chrono::milliseconds(limit_ms);
    while (!done.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_TRUE(done.load()) << "the reactor did not stop in time";
    if (!done.load()) reactor->request_stop();
    t.join();
    ran_ms = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    EXPECT_EQ(error, "");
  }
};

TEST(ReactorConnect, ExchangeAndClose) {
  sockaddr_in addr;
  const int lfd = listen_local(&addr);
  ReactorRun run(small_options());
  Hooks& h = *run.hooks;
  bool started = false;
  int results = 0, res = 1, closes = 0, open_visits = -1;
  uint32_t slot = UINT32_MAX, reported_slot = UINT32_MAX;
  uint64_t tag = 0;
  bool outbound = false, peer_ok = false;
  std::string got;
  h.turn = [&](Reactor& r) {
    if (started) return;
    started = true;
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&addr), sizeof(addr), 42, &slot));
  };
  h.connected = [&](Reactor& r, uint32_t s, int rs, uint64_t t) {
    ++results;
    res = rs;
    tag = t;
    reported_slot = s;
    outbound = r.is_outbound(s) && s >= r.outbound_base();
    peer_ok = r.peer(s).sin6_family == AF_INET &&
              reinterpret_cast<const sockaddr_in&>(r.peer(s)).sin_port == addr.sin_port;
    open_visits = 0;
    r.for_each_open([&](uint32_t) { ++open_visits; });
    if (rs == 0) queue(r, s, "ping");
  };
  h.data = [&](Reactor& r, uint32_t s, std::span<uint8_t> b) {
    got.append(reinterpret_cast<char*>(b.data()), b.size());
    if (got == "pong") r.close(s, true);
  };
  h.close = [&](Reactor& r, uint32_t) {
    ++closes;
    r.request_stop();
  };
  run.go([&] {
    const int c = accept_within(lfd, 5000);
    ASSERT_GE(c, 0);
    EXPECT_EQ(read_some(c, 4, 5000), "ping");
    write_all(c, "pong");
    EXPECT_TRUE(eof_within(c, 5000));  // our graceful close: FIN after the output
    ::close(c);
  });
  ::close(lfd);
  EXPECT_EQ(results, 1);
  EXPECT_EQ(res, 0);
  EXPECT_EQ(tag, 42u);
  EXPECT_EQ(reported_slot, slot);
  EXPECT_TRUE(outbound);
  EXPECT_TRUE(peer_ok);
  EXPECT_EQ(open_visits, 0) << "for_each_open must not visit outbound slots";
  EXPECT_EQ(got, "pong");
  EXPECT_EQ(closes, 1);
  EXPECT_EQ(run.reactor->outbound_count(), 0u);
}

TEST(ReactorConnect, RefusedAndSlotsAreReused) {
  const sockaddr_in addr = closed_port();
  ReactorOptions o = small_options();
  o.max_outbound = 2;
  ReactorRun run(o);
  Hooks& h = *run.hooks;
  std::vector<int> results;
  std::vector<uint64_t> tags;
  std::vector<uint32_t> slots;
  int closes = 0, issued = 0;
  h.turn = [&](Reactor& r) {
    // Keep two going until ten were refused: slots come back after each failure.
    while (issued < 10 && r.connect(reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), uint64_t(issued))) {
      ++issued;
    }
  };
  h.connected = [&](Reactor& r, uint32_t s, int res, uint64_t t) {
    results.push_back(res);
    tags.push_back(t);
    slots.push_back(s);
    if (results.size() == 10) r.request_stop();
  };
  h.close = [&](Reactor&, uint32_t) { ++closes; };
  run.go(nullptr);
  ASSERT_EQ(results.size(), 10u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i], -ECONNREFUSED);
    EXPECT_EQ(tags[i], i);
    EXPECT_TRUE(run.reactor->is_outbound(slots[i]));
  }
  EXPECT_EQ(closes, 0) << "a connect that failed gets no on_close";
  EXPECT_EQ(run.reactor->outbound_count(), 0u);
}

TEST(ReactorConnect, LimitAndBadAddresses) {
  FullListener full;
  ReactorOptions o = small_options();
  o.max_outbound = 2;
  ReactorRun run(o);
  Hooks& h = *run.hooks;
  bool started = false;
  bool third = true, unix_family = true, short_len = true;
  std::vector<int> results;
  h.turn = [&](Reactor& r) {
    if (started) return;
    started = true;
    uint32_t a, b;
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&full.addr), sizeof(full.addr), 1, &a));
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&full.addr), sizeof(full.addr), 2, &b));
    EXPECT_NE(a, b);
    third = r.connect(reinterpret_cast<sockaddr*>(&full.addr), sizeof(full.addr), 3);
    sockaddr un{};
    un.sa_family = AF_UNIX;
    unix_family = r.connect(&un, sizeof(un), 4);
    short_len = r.connect(reinterpret_cast<sockaddr*>(&full.addr), 4, 5);
    r.close(a, false);  // while its socket is being made
    r.close(b, false);
  };
  h.connected = [&](Reactor& r, uint32_t, int res, uint64_t) {
    results.push_back(res);
    if (results.size() == 2) r.request_stop();
  };
  run.go(nullptr);
  EXPECT_FALSE(third) << "max_outbound is 2";
  EXPECT_FALSE(unix_family);
  EXPECT_FALSE(short_len);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], -ECANCELED);
  EXPECT_EQ(results[1], -ECANCELED);
}

TEST(ReactorConnect, TimerWhileConnectingAndAbort) {
  FullListener full;
  ReactorRun run(small_options());
  Hooks& h = *run.hooks;
  bool started = false;
  uint32_t slot = UINT32_MAX;
  uint64_t set_at = 0, fired_at = 0;
  int res = 1, timers = 0;
  h.turn = [&](Reactor& r) {
    if (started) return;
    started = true;
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&full.addr), sizeof(full.addr), 9, &slot));
    set_at = r.now_ms();
    r.set_timer(slot, set_at + 100);
  };
  h.timer = [&](Reactor& r, uint32_t s) {
    ++timers;
    fired_at = r.now_ms();
    EXPECT_EQ(s, slot);
    r.close(s, false);
  };
  h.connected = [&](Reactor& r, uint32_t s, int rs, uint64_t) {
    EXPECT_EQ(s, slot);
    res = rs;
    r.request_stop();
  };
  run.go(nullptr);
  EXPECT_EQ(timers, 1);
  EXPECT_GE(fired_at, set_at + 100);
  EXPECT_EQ(res, -ECANCELED);
}

TEST(ReactorConnect, OutputQueuedWhileConnecting) {
  sockaddr_in addr;
  const int lfd = listen_local(&addr);
  ReactorRun run(small_options());
  Hooks& h = *run.hooks;
  bool started = false;
  int res = 1;
  h.turn = [&](Reactor& r) {
    if (started) return;
    started = true;
    uint32_t slot;
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&addr), sizeof(addr), 0, &slot));
    queue(r, slot, "early ");
    queue(r, slot, "bird");
  };
  h.connected = [&](Reactor&, uint32_t, int rs, uint64_t) { res = rs; };
  h.close = [&](Reactor& r, uint32_t) { r.request_stop(); };
  run.go([&] {
    const int c = accept_within(lfd, 5000);
    ASSERT_GE(c, 0);
    EXPECT_EQ(read_some(c, 10, 5000), "early bird");
    ::close(c);  // the reactor sees the FIN and closes its side
  });
  ::close(lfd);
  EXPECT_EQ(res, 0);
}

// The reactor's own listener and an outbound connection to it: both kinds
// in one table, each in its own range, for_each_open seeing only the client.
TEST(ReactorConnect, ToOwnListener) {
  sockaddr_in addr;
  const int lfd = listen_local(&addr);
  ReactorRun run(small_options(lfd));
  Hooks& h = *run.hooks;
  bool started = false;
  uint32_t out_slot = UINT32_MAX, in_slot = UINT32_MAX;
  std::string echoed;
  std::vector<uint32_t> visited;
  int closes = 0;
  h.turn = [&](Reactor& r) {
    if (started) return;
    started = true;
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&addr), sizeof(addr), 5, &out_slot));
  };
  h.open = [&](Reactor&, uint32_t s) { in_slot = s; };
  h.connected = [&](Reactor& r, uint32_t s, int rs, uint64_t) {
    ASSERT_EQ(rs, 0);
    queue(r, s, "hello");
  };
  h.data = [&](Reactor& r, uint32_t s, std::span<uint8_t> b) {
    const std::string_view bytes(reinterpret_cast<char*>(b.data()), b.size());
    if (s == in_slot) {
      queue(r, s, bytes);  // echo
      return;
    }
    echoed.append(bytes);
    if (echoed == "hello") {
      r.for_each_open([&](uint32_t v) { visited.push_back(v); });
      r.close(s, true);
    }
  };
  h.close = [&](Reactor& r, uint32_t) {
    if (++closes == 2) r.request_stop();
  };
  run.go(nullptr);
  EXPECT_EQ(echoed, "hello");
  EXPECT_LT(in_slot, run.reactor->outbound_base());
  EXPECT_GE(out_slot, run.reactor->outbound_base());
  ASSERT_EQ(visited.size(), 1u);
  EXPECT_EQ(visited[0], in_slot);
  EXPECT_EQ(closes, 2);
}

// A graceful stop with an outbound connection open and one still
// connecting: both are ended by the reactor, quickly, once no client is left.
TEST(ReactorConnect, GracefulStopEndsOutbound) {
  sockaddr_in addr;
  const int lfd = listen_local(&addr);
  FullListener full;
  ReactorRun run(small_options());
  Hooks& h = *run.hooks;
  bool started = false;
  std::vector<int> results;
  int closes = 0;
  h.turn = [&](Reactor& r) {
    if (started) return;
    started = true;
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&addr), sizeof(addr), 1));
    ASSERT_TRUE(r.connect(reinterpret_cast<sockaddr*>(&full.addr), sizeof(full.addr), 2));
  };
  h.connected = [&](Reactor& r, uint32_t, int rs, uint64_t tag) {
    results.push_back(rs);
    if (tag == 1 && rs == 0) r.request_stop();
  };
  bool refused_during_stop = false;
  h.stop = [&](Reactor& r) {
    refused_during_stop = !r.connect(reinterpret_cast<sockaddr*>(&addr), sizeof(addr), 3);
  };
  h.close = [&](Reactor&, uint32_t) { ++closes; };
  int server_side = -1;
  run.go([&] {
    server_side = accept_within(lfd, 5000);  // accepted and left open: only the stop ends it
    EXPECT_GE(server_side, 0);
  });
  EXPECT_LT(run.ran_ms, 2000u) << "outbound connections held the stop up";
  EXPECT_EQ(run.hooks->stops, 1);
  EXPECT_TRUE(refused_during_stop);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], 0);
  EXPECT_EQ(results[1], -ECANCELED);
  EXPECT_EQ(closes, 1);
  EXPECT_EQ(run.reactor->outbound_count(), 0u);
  if (server_side >= 0) ::close(server_side);
  ::close(lfd);
}

TEST(ReactorConnect, NotBeforeRun) {
  ReactorRun run(small_options());
  sockaddr_in addr = closed_port();
  EXPECT_FALSE(run.reactor->connect(reinterpret_cast<sockaddr*>(&addr), sizeof(addr), 0));
}

}  // namespace
}  // namespace ringcast::core
