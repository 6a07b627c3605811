// ringcast-echo-bench: a bounded, closed-loop echo load generator on io_uring.
//
// Each of N connections keeps `inflight` messages outstanding: a new message is
// sent when an echo comes back, so the numbers are closed-loop service times
// (the tool slows down with the server; it does not model an open arrival
// rate). Every echo is checked byte for byte against what was sent.
//
// Techniques: one io_uring per thread, connections split across threads in
// contiguous blocks; plain fds; per connection at most one send and one recv
// in flight. Sends are double-buffered: frames queue in a staging buffer while
// the other is in flight, then go out in one send. All memory is allocated at
// setup (one arena per thread); nothing is allocated per message. The
// WebSocket framing is the client's own (client_frames.h), not the server's.
//
// Payload of message `seq` on a connection: bytes 0..7 encode seq + a random
// per-connection salt in 6-bit printable characters, the rest comes from a
// per-thread random template (printable for text frames, any byte for
// --binary). So a reordered, cross-connection or corrupted echo is caught.
//
// Lifecycle: setup (connect + upgrade, at most kMaxConnecting at a time per
// thread) -> wait for all threads -> warmup -> measured window -> drain (no
// new messages; a connection with nothing outstanding sends close 1000, or
// shuts down writing in --raw, and waits for the server's close and EOF) ->
// after kDrainTimeoutNs the rest are shut down and counted as unclean.
// Connections are never freed during the run, so a completion never points at
// freed memory; fds are closed once the ring has no operation in flight.
#include "client_frames.h"
#include "echo_options.h"
#include "echo_report.h"
#include "latency_histogram.h"
#include "ws_accept.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using bench::Counters;
using bench::LatencyHistogram;
using bench::Options;
using bench::ServerFrameReader;
using bench::Target;

constexpr uint64_t kMaxMemory = 8ull << 30;       // all send + recv buffers
constexpr uint64_t kRecvBudget = 1ull << 30;      // recv buffers, all connections
constexpr uint64_t kDrainTimeoutNs = 5'000'000'000;
constexpr uint64_t kSetupBaseNs = 10'000'000'000;      // setup deadline: base +
constexpr uint64_t kSetupPerConnNs = 1'000'000;        // this per connection
constexpr unsigned kMaxConnecting = 256;          // per thread, during setup
constexpr uint32_t kConnsPerSourceIp = 20000;     // ephemeral ports per 127.x source
constexpr size_t kMaxPongsQueued = 8;
// Staging room beyond `inflight` data frames: queued pongs and one close frame.
constexpr size_t kControlReserve = kMaxPongsQueued * (6 + bench::kMaxControlPayload) + 8;
constexpr size_t kMinSendBuf = 2048;              // the upgrade request
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

void sleep_ns(uint64_t ns) {
  timespec ts{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
  nanosleep(&ts, nullptr);
}

struct Rng {  // splitmix64; seeded from getrandom()
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

uint64_t random_seed() {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, 0) != sizeof v) v = now_ns() ^ uint64_t(getpid()) << 32;
  return v;
}

struct Shared {
  Options opt;
  Target target;
  uint64_t cap_send = 0;  // bytes per staging buffer (two per connection)
  uint64_t cap_recv = 0;
  std::atomic<unsigned> ready{0};
  std::atomic<bool> abort{false};
  std::atomic<uint64_t> start_ns{0};
  std::atomic<uint64_t> measure_ns{0};
  std::atomic<uint64_t> end_ns{0};
};

enum class State : uint8_t { connecting, handshake, open, closing, done };
enum Op : uint64_t { kConnect = 1, kSend = 2, kRecv = 3 };

// user_data = conn index << 2 | op; the only place it is encoded.
inline uint64_t encode(uint32_t conn, Op op) { return uint64_t(conn) << 2 | op; }

struct Conn {
  int fd = -1;
  State state = State::connecting;
  bool send_busy = false;
  bool recv_busy = false;
  bool got_close = false;
  bool shut_wr = false;   // --raw: write side shut after the last send
  bool msg_bad = false;
  uint8_t active = 0;     // send buffer in flight; the other one is staging
  uint8_t pongs = 0;      // pongs in staging
  uint8_t* sbuf[2] = {};
  uint64_t slen[2] = {};
  uint64_t soff = 0;
  uint8_t* rbuf = nullptr;
  uint64_t rfill = 0;
  uint64_t* ts = nullptr;  // send times, ring of `inflight`
  uint32_t ts_head = 0;
  uint32_t outstanding = 0;
  uint64_t send_seq = 0;
  uint64_t recv_seq = 0;
  uint64_t salt = 0;
  uint64_t msg_off = 0;
  char key[24];
  ServerFrameReader reader;
};

class Worker {
 public:
  Worker(Shared& sh, uint32_t first, uint32_t count)
      : sh_(sh), o_(sh.opt), first_(first), conns_(count), rng_{random_seed()} {}

  void run();

  LatencyHistogram hist;
  Counters counters;
  std::string first_error;
  std::string ring_mode;

 private:
  struct Sink;
  bool setup();
  bool init_ring();
  bool start_connect(uint32_t i);
  void handle(io_uring_cqe* cqe);
  void on_connect(uint32_t i, int res);
  void on_send(Conn& c, int res);
  void on_recv(Conn& c, int res);
  void on_handshake(Conn& c);
  void consume(Conn& c, const uint8_t* p, size_t n);
  void raw_consume(Conn& c, const uint8_t* p, size_t n);
  void complete_message(Conn& c, bool bad);
  bool verify(const Conn& c, uint64_t off, const uint8_t* p, size_t n) const;
  void enqueue_message(Conn& c);
  void enqueue_control(Conn& c, uint8_t opcode, const uint8_t* p, size_t n);
  void kick_send(Conn& c);
  void post_recv(Conn& c);
  void begin_close(Conn& c);
  void finish(Conn& c, bool clean);
  void fail(Conn& c, uint64_t Counters::*kind, const std::string& why);
  io_uring_sqe* sqe();
  uint32_t index(const Conn& c) const { return uint32_t(&c - conns_.data()); }

  Shared& sh_;
  const Options& o_;
  uint32_t first_;
  std::vector<Conn> conns_;
  std::unique_ptr<uint8_t[]> arena_;
  std::unique_ptr<uint64_t[]> times_;
  std::unique_ptr<uint8_t[]> tmpl_;
  Rng rng_;
  io_uring ring_{};
  bool ring_ok_ = false;
  enum class Phase { setup, running, draining } phase_ = Phase::setup;
  uint32_t opened_ = 0, connecting_ = 0, live_ = 0;
  uint64_t ops_ = 0;
  uint64_t now_ = 0, measure_ = 0, end_ = 0;
  std::string setup_error_;
};

struct Worker::Sink {
  Worker& w;
  Conn& c;
  bool on_message_begin(uint8_t op) {
    if (c.outstanding == 0) return why("message while none outstanding");
    c.msg_off = 0;
    c.msg_bad = op != (w.o_.binary ? bench::kOpBinary : bench::kOpText);
    return true;
  }
  bool on_data(const uint8_t* p, size_t n) {
    if (!c.msg_bad)
      c.msg_bad = c.msg_off + n > w.o_.size || !w.verify(c, c.msg_off, p, n);
    c.msg_off += n;
    return true;
  }
  bool on_message_end() {
    w.complete_message(c, c.msg_bad || c.msg_off != w.o_.size);
    return true;
  }
  bool on_ping(const uint8_t* p, size_t n) {
    ++w.counters.pings;
    if (c.state == State::open && c.pongs < kMaxPongsQueued) w.enqueue_control(c, bench::kOpPong, p, n);
    return true;
  }
  bool on_pong() { return true; }
  bool on_close(uint16_t code) {
    c.got_close = true;
    if (c.state != State::closing) return why("server sent close " + std::to_string(code) + " during the run");
    return true;
  }
  bool why(const std::string& s) {
    error = s;
    return false;
  }
  std::string error;
};

io_uring_sqe* Worker::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  assert(s);
  ++ops_;
  return s;
}

bool Worker::init_ring() {
  uint32_t n = uint32_t(conns_.size());
  unsigned sq = std::bit_ceil(std::min<uint32_t>(2 * n + 8, 4096));
  io_uring_params p{};
  p.cq_entries = std::bit_ceil(std::min<uint32_t>(2 * n + 16, 65536));
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  struct { unsigned flags; const char* name; } tries[] = {
      {base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "defer_taskrun"},
      {base | IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
      {base, "plain"},
  };
  int rc = -EINVAL;
  for (auto& t : tries) {
    io_uring_params q = p;
    q.flags = t.flags;
    rc = io_uring_queue_init_params(sq, &ring_, &q);
    if (rc == 0) {
      ring_mode = t.name;
      ring_ok_ = true;
      return true;
    }
    if (rc != -EINVAL) break;
  }
  setup_error_ = std::string("io_uring setup failed: ") + std::strerror(-rc) +
                 " (no fallback; check kernel.io_uring_disabled and RLIMIT_MEMLOCK)";
  return false;
}

bool Worker::setup() {
  if (!init_ring()) return false;
  const uint64_t per = 2 * sh_.cap_send + sh_.cap_recv;
  arena_.reset(new uint8_t[per * conns_.size()]);
  times_.reset(new uint64_t[uint64_t(o_.inflight) * conns_.size()]);
  tmpl_.reset(new uint8_t[o_.size]);
  for (uint64_t i = 0; i < o_.size; ++i) {
    uint8_t r = uint8_t(rng_.next());
    tmpl_[i] = o_.binary ? r : uint8_t(kAlphabet[r & 63]);
  }
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    uint8_t* base = arena_.get() + per * i;
    c.sbuf[0] = base;
    c.sbuf[1] = base + sh_.cap_send;
    c.rbuf = base + 2 * sh_.cap_send;
    c.ts = times_.get() + uint64_t(o_.inflight) * i;
    c.salt = rng_.next() & ((uint64_t{1} << 48) - 1);
  }
  const uint64_t deadline = now_ns() + kSetupBaseNs + kSetupPerConnNs * o_.connections;
  uint32_t next = 0;
  while (opened_ < conns_.size()) {
    while (connecting_ < kMaxConnecting && next < conns_.size()) {
      if (!start_connect(next++)) return false;
      ++connecting_;
    }
    __kernel_timespec ts{0, 10'000'000};
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) {
      setup_error_ = std::string("io_uring_submit_and_wait: ") + std::strerror(-rc);
      return false;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    if (!setup_error_.empty()) return false;
    if (sh_.abort.load(std::memory_order_relaxed)) return false;
    if (now_ns() > deadline) {
      setup_error_ = "setup timed out: " + std::to_string(opened_) + " of " +
                     std::to_string(conns_.size()) + " connections of this thread upgraded";
      return false;
    }
  }
  return true;
}

bool Worker::start_connect(uint32_t i) {
  Conn& c = conns_[i];
  const Target& t = sh_.target;
  c.fd = socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    setup_error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint32_t global = first_ + i;
  if (t.ipv4_loopback && o_.connections > kConnsPerSourceIp) {
    // One 127.x source address per kConnsPerSourceIp connections, so 50,000
    // connections to one port do not run out of ephemeral ports.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F000001u + global / kConnsPerSourceIp);
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      setup_error_ = std::string("bind source address: ") + std::strerror(errno);
      return false;
    }
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_connect(s, c.fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len);
  io_uring_sqe_set_data64(s, encode(i, kConnect));
  return true;
}

void Worker::handle(io_uring_cqe* cqe) {
  --ops_;
  uint64_t ud = io_uring_cqe_get_data64(cqe);
  uint32_t i = uint32_t(ud >> 2);
  switch (Op(ud & 3)) {
    case kConnect: on_connect(i, cqe->res); break;
    case kSend: conns_[i].send_busy = false; on_send(conns_[i], cqe->res); break;
    case kRecv: conns_[i].recv_busy = false; on_recv(conns_[i], cqe->res); break;
  }
}

void Worker::on_connect(uint32_t i, int res) {
  Conn& c = conns_[i];
  if (res < 0) {
    setup_error_ = "connect to " + sh_.target.text + ": " + std::strerror(-res);
    return;
  }
  ++live_;
  if (o_.raw) {
    c.state = State::open;
    --connecting_;
    ++opened_;
    post_recv(c);
    return;
  }
  uint8_t raw_key[16];
  for (int k = 0; k < 16; k += 8) {
    uint64_t r = rng_.next();
    std::memcpy(raw_key + k, &r, 8);
  }
  std::string key = bench::base64(raw_key, 16);  // setup only, not per message
  std::memcpy(c.key, key.data(), sizeof c.key);
  std::string host = o_.host.find(':') != std::string::npos ? "[" + o_.host + "]" : o_.host;
  std::string req = "GET " + o_.path + " HTTP/1.1\r\nHost: " + host + ":" + o_.port +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  assert(req.size() <= sh_.cap_send);
  uint8_t st = c.active ^ 1;
  std::memcpy(c.sbuf[st], req.data(), req.size());
  c.slen[st] = req.size();
  c.state = State::handshake;
  kick_send(c);
  post_recv(c);
}

void Worker::kick_send(Conn& c) {
  uint8_t st = c.active ^ 1;
  if (c.send_busy || c.slen[st] == 0 || c.state == State::done) return;
  c.slen[c.active] = 0;
  c.active = st;
  c.soff = 0;
  c.pongs = 0;
  c.send_busy = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c.fd, c.sbuf[st], c.slen[st], MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, encode(index(c), kSend));
}

void Worker::on_send(Conn& c, int res) {
  if (c.state == State::done) return;
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) res = 0;
    else return fail(c, &Counters::connection_errors, std::string("send: ") + std::strerror(-res));
  }
  c.soff += uint64_t(res);
  if (c.soff < c.slen[c.active]) {
    c.send_busy = true;
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c.fd, c.sbuf[c.active] + c.soff, c.slen[c.active] - c.soff, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, encode(index(c), kSend));
    return;
  }
  kick_send(c);
  if (o_.raw && c.state == State::closing && !c.send_busy && !c.shut_wr) {
    c.shut_wr = true;
    shutdown(c.fd, SHUT_WR);
  }
}

void Worker::post_recv(Conn& c) {
  if (c.recv_busy || c.state == State::done) return;
  c.recv_busy = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_recv(s, c.fd, c.rbuf + c.rfill, sh_.cap_recv - c.rfill, 0);
  io_uring_sqe_set_data64(s, encode(index(c), kRecv));
}

void Worker::on_recv(Conn& c, int res) {
  if (c.state == State::done) return;
  if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS) return post_recv(c);
  if (res < 0) {
    if (c.state == State::closing) return finish(c, false);
    return fail(c, &Counters::connection_errors, std::string("recv: ") + std::strerror(-res));
  }
  if (res == 0) {
    if (c.state == State::closing) return finish(c, o_.raw || c.got_close);
    return fail(c, &Counters::connection_errors, "server closed the connection");
  }
  if (c.state == State::handshake) {
    c.rfill += uint64_t(res);
    on_handshake(c);
  } else {
    now_ = now_ns();
    consume(c, c.rbuf, size_t(res));
    kick_send(c);
  }
  post_recv(c);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(uint8_t(a[i])) != std::tolower(uint8_t(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void Worker::on_handshake(Conn& c) {
  std::string_view buf(reinterpret_cast<const char*>(c.rbuf), c.rfill);
  size_t end = buf.find("\r\n\r\n");
  if (end == buf.npos) {
    if (c.rfill == sh_.cap_recv) fail(c, &Counters::protocol_errors, "upgrade response head too large");
    return;
  }
  std::string_view head = buf.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string_view status = head.substr(0, eol);
  if (!(status.starts_with("HTTP/1.1 101 ") || status == "HTTP/1.1 101"))
    return fail(c, &Counters::protocol_errors, "upgrade refused: " + std::string(status));
  std::string expected = bench::ws_accept(std::string_view(c.key, sizeof c.key));
  bool accept_ok = false, accept_seen = false, upgrade_ok = false;
  for (size_t pos = eol + 2; pos < head.size();) {
    size_t next = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == line.npos) continue;
    std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (iequals(name, "sec-websocket-accept")) {
      accept_seen = true;
      accept_ok = value == expected;
    } else if (iequals(name, "upgrade")) {
      upgrade_ok = iequals(value, "websocket");
    }
  }
  if (!accept_seen) return fail(c, &Counters::protocol_errors, "101 without Sec-WebSocket-Accept");
  if (!accept_ok) return fail(c, &Counters::protocol_errors, "wrong Sec-WebSocket-Accept");
  if (!upgrade_ok) return fail(c, &Counters::protocol_errors, "101 without Upgrade: websocket");
  c.state = State::open;
  --connecting_;
  ++opened_;
  size_t used = end + 4, rest = c.rfill - used;
  c.rfill = 0;
  if (rest) {  // frames that came right behind the 101
    std::memmove(c.rbuf, c.rbuf + used, rest);
    consume(c, c.rbuf, rest);
    kick_send(c);
  }
}

void Worker::consume(Conn& c, const uint8_t* p, size_t n) {
  if (o_.raw) return raw_consume(c, p, n);
  Sink sink{*this, c, {}};
  if (!c.reader.feed(p, n, sink))
    fail(c, &Counters::protocol_errors, sink.error.empty() ? c.reader.error() : sink.error);
}

void Worker::raw_consume(Conn& c, const uint8_t* p, size_t n) {
  while (n > 0 && c.state != State::done) {
    if (c.outstanding == 0) return fail(c, &Counters::protocol_errors, "bytes while none outstanding");
    size_t take = size_t(std::min<uint64_t>(n, o_.size - c.msg_off));
    if (!c.msg_bad) c.msg_bad = !verify(c, c.msg_off, p, take);
    c.msg_off += take;
    p += take;
    n -= take;
    if (c.msg_off == o_.size) {
      complete_message(c, c.msg_bad);
      c.msg_off = 0;
      c.msg_bad = false;
    }
  }
}

bool Worker::verify(const Conn& c, uint64_t off, const uint8_t* p, size_t n) const {
  uint64_t tag = c.recv_seq + c.salt;
  size_t i = 0;
  for (; i < n && off + i < 8; ++i)
    if (p[i] != uint8_t(kAlphabet[(tag >> (6 * (off + i))) & 63])) return false;
  return std::memcmp(p + i, tmpl_.get() + off + i, n - i) == 0;
}

void Worker::complete_message(Conn& c, bool bad) {
  uint64_t sent = c.ts[c.ts_head];
  c.ts_head = c.ts_head + 1 == o_.inflight ? 0 : c.ts_head + 1;
  --c.outstanding;
  ++c.recv_seq;
  if (bad) {
    ++counters.mismatches;
    if (first_error.empty())
      first_error = "connection " + std::to_string(first_ + index(c)) + ": echo of message " +
                    std::to_string(c.recv_seq - 1) + " differs from what was sent";
  } else if (now_ >= measure_ && now_ < end_) {
    ++counters.messages;
    hist.record(now_ - sent);
  }
  if (phase_ == Phase::running && now_ < end_) enqueue_message(c);
  else if (phase_ == Phase::draining && c.outstanding == 0 && c.state == State::open) begin_close(c);
}

void Worker::enqueue_message(Conn& c) {
  uint8_t st = c.active ^ 1;
  uint8_t* out = c.sbuf[st] + c.slen[st];
  uint32_t key = uint32_t(rng_.next());
  size_t h = o_.raw ? 0 : bench::write_client_header(out, o_.binary ? bench::kOpBinary : bench::kOpText, o_.size, key);
  uint8_t* payload = out + h;
  std::memcpy(payload, tmpl_.get(), o_.size);
  uint64_t tag = c.send_seq + c.salt;
  for (uint64_t i = 0; i < 8 && i < o_.size; ++i) payload[i] = uint8_t(kAlphabet[(tag >> (6 * i)) & 63]);
  if (!o_.raw) bench::mask_payload(payload, o_.size, key);
  c.slen[st] += h + o_.size;
  assert(c.slen[st] <= sh_.cap_send);
  c.ts[(c.ts_head + c.outstanding) % o_.inflight] = now_;
  ++c.outstanding;
  ++c.send_seq;
}

void Worker::enqueue_control(Conn& c, uint8_t opcode, const uint8_t* p, size_t n) {
  uint8_t st = c.active ^ 1;
  uint8_t* out = c.sbuf[st] + c.slen[st];
  uint32_t key = uint32_t(rng_.next());
  size_t h = bench::write_client_header(out, opcode, n, key);
  std::memcpy(out + h, p, n);
  bench::mask_payload(out + h, n, key);
  c.slen[st] += h + n;
  assert(c.slen[st] <= sh_.cap_send);
  if (opcode == bench::kOpPong) ++c.pongs;
}

void Worker::begin_close(Conn& c) {
  c.state = State::closing;
  if (o_.raw) {
    if (!c.send_busy && c.slen[c.active ^ 1] == 0 && !c.shut_wr) {
      c.shut_wr = true;
      shutdown(c.fd, SHUT_WR);
    }
    return;
  }
  const uint8_t code[2] = {1000 >> 8, 1000 & 0xFF};
  enqueue_control(c, bench::kOpClose, code, 2);
  kick_send(c);
}

void Worker::finish(Conn& c, bool clean) {
  if (!clean) ++counters.unclean_closes;
  counters.lost += c.outstanding;
  c.outstanding = 0;
  shutdown(c.fd, SHUT_RDWR);  // wakes any send still in flight
  c.state = State::done;
  --live_;
}

void Worker::fail(Conn& c, uint64_t Counters::*kind, const std::string& why) {
  ++(counters.*kind);
  if (first_error.empty()) first_error = "connection " + std::to_string(first_ + index(c)) + ": " + why;
  if (phase_ == Phase::setup && setup_error_.empty()) setup_error_ = first_error;
  finish(c, true);
}

void Worker::run() {
  if (!setup()) {
    if (first_error.empty()) first_error = setup_error_;
    sh_.abort.store(true);
  }
  sh_.ready.fetch_add(1);
  uint64_t start;
  while ((start = sh_.start_ns.load(std::memory_order_acquire)) == 0) sleep_ns(100'000);
  if (sh_.abort.load()) {
    if (ring_ok_) io_uring_queue_exit(&ring_);
    for (Conn& c : conns_) if (c.fd >= 0) close(c.fd);
    return;
  }
  while (now_ns() < start) sleep_ns(50'000);
  measure_ = sh_.measure_ns.load();
  end_ = sh_.end_ns.load();
  now_ = now_ns();
  phase_ = Phase::running;
  for (Conn& c : conns_) {
    for (uint32_t k = 0; k < o_.inflight; ++k) enqueue_message(c);
    kick_send(c);
  }
  uint64_t drain_deadline = 0;
  bool forced = false;
  for (;;) {
    __kernel_timespec ts{0, 5'000'000};
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) {
      first_error = std::string("io_uring_submit_and_wait: ") + std::strerror(-rc);
      ++counters.connection_errors;
      break;
    }
    end_ = sh_.end_ns.load(std::memory_order_relaxed);
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    uint64_t now = now_ns();
    if (phase_ == Phase::running && now >= end_) {
      phase_ = Phase::draining;
      drain_deadline = now + kDrainTimeoutNs;
      for (Conn& c : conns_)
        if (c.state == State::open && c.outstanding == 0) begin_close(c);
    }
    if (phase_ != Phase::draining) continue;
    if (live_ == 0 && ops_ == 0) break;
    if (!forced && now >= drain_deadline) {
      forced = true;
      for (Conn& c : conns_) {
        if (c.state == State::done) continue;
        if (c.outstanding && first_error.empty())
          first_error = "connection " + std::to_string(first_ + index(c)) + ": " +
                        std::to_string(c.outstanding) + " echo(es) missing at the drain deadline";
        finish(c, false);
      }
    }
    if (forced && now >= drain_deadline + 1'000'000'000) break;  // ring exit cancels the rest
  }
  io_uring_queue_exit(&ring_);
  for (Conn& c : conns_) if (c.fd >= 0) close(c.fd);
}

// ---------------------------------------------------------------- main

volatile sig_atomic_t g_interrupted = 0;

bool raise_fd_limit(uint64_t need, std::string& err) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= need) return true;
  rlimit want{std::max<rlim_t>(rl.rlim_cur, std::min<rlim_t>(need, rl.rlim_max)), rl.rlim_max};
  if (rl.rlim_max < need) want = {need, need};  // works as root
  if (setrlimit(RLIMIT_NOFILE, &want) == 0) return true;
  err = "need " + std::to_string(need) + " file descriptors, limit is " + std::to_string(rl.rlim_max) +
        " (raise ulimit -n)";
  return false;
}

double seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  auto sh = std::make_unique<Shared>();
  Options& o = sh->opt;
  if (std::string err = bench::parse_options(argc, argv, o); !err.empty()) {
    std::fprintf(stderr, "ringcast-echo-bench: %s\n", err.c_str());
    bench::usage(stderr);
    return 2;
  }
  if (std::string err = bench::resolve(o, sh->target); !err.empty()) {
    std::fprintf(stderr, "ringcast-echo-bench: %s\n", err.c_str());
    return 2;
  }
  if (!sh->target.loopback && !o.allow_remote) {
    std::fprintf(stderr, "ringcast-echo-bench: %s is not a loopback address (127.0.0.0/8, ::1); "
                 "pass --allow-remote to load it anyway\n", sh->target.text.c_str());
    return 2;
  }
  const uint64_t frame = o.size + (o.raw ? 0 : bench::kMaxClientHeader);
  sh->cap_send = std::max<uint64_t>(kMinSendBuf, o.inflight * frame + (o.raw ? 0 : kControlReserve));
  sh->cap_recv = std::clamp<uint64_t>(o.inflight * frame, 4096, 65536);
  sh->cap_recv = std::max<uint64_t>(4096, std::min<uint64_t>(sh->cap_recv, kRecvBudget / o.connections));
  const uint64_t memory = o.connections * (2 * sh->cap_send + sh->cap_recv);
  if (memory > kMaxMemory) {
    std::fprintf(stderr, "ringcast-echo-bench: connections x inflight x size needs %.1f GiB of buffers "
                 "(limit %.0f GiB)\n", double(memory) / (1 << 30), double(kMaxMemory) / (1 << 30));
    return 2;
  }
  if (std::string err; !raise_fd_limit(uint64_t(o.connections) + 64, err)) {
    std::fprintf(stderr, "ringcast-echo-bench: %s\n", err.c_str());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_interrupted = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < o.threads; ++t) {
    uint32_t a = uint32_t(uint64_t(o.connections) * t / o.threads);
    uint32_t b = uint32_t(uint64_t(o.connections) * (t + 1) / o.threads);
    workers.push_back(std::make_unique<Worker>(*sh, a, b - a));
  }
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  while (sh->ready.load() < o.threads && !g_interrupted) sleep_ns(1'000'000);
  if (g_interrupted) sh->abort.store(true);
  while (sh->ready.load() < o.threads) sleep_ns(1'000'000);

  const uint64_t start = now_ns() + 1'000'000;
  const uint64_t measure = start + uint64_t(o.warmup * 1e9);
  sh->measure_ns.store(measure);
  sh->end_ns.store(measure + uint64_t(o.duration * 1e9));
  sh->start_ns.store(start, std::memory_order_release);

  rusage r0{}, r1{};
  uint64_t t0 = measure, t1 = 0;
  if (!sh->abort.load()) {
    while (now_ns() < measure && !g_interrupted) sleep_ns(1'000'000);
    getrusage(RUSAGE_SELF, &r0);
    t0 = now_ns();
    while (now_ns() < sh->end_ns.load() && !g_interrupted) sleep_ns(1'000'000);
    if (g_interrupted) sh->end_ns.store(std::max(now_ns(), measure));
    getrusage(RUSAGE_SELF, &r1);
    t1 = now_ns();
  }
  for (auto& th : threads) th.join();

  bench::Report r{};
  r.mode = o.raw ? "raw" : o.binary ? "ws-binary" : "ws-text";
  r.target = sh->target.text + (o.raw ? "" : o.path);
  r.connections = o.connections;
  r.inflight = o.inflight;
  r.size = o.size;
  r.threads = o.threads;
  r.ring = workers[0]->ring_mode;
  r.warmup_s = o.warmup;
  r.window_s = double(sh->end_ns.load() - measure) / 1e9;
  for (auto& w : workers) {
    r.hist.add(w->hist);
    r.counters.add(w->counters);
    if (r.first_error.empty()) r.first_error = w->first_error;
  }
  if (sh->abort.load()) {
    std::fprintf(stderr, "ringcast-echo-bench: setup failed: %s\n",
                 r.first_error.empty() ? "interrupted" : r.first_error.c_str());
    return 1;
  }
  r.cpu_user_s = seconds(r1.ru_utime) - seconds(r0.ru_utime);
  r.cpu_sys_s = seconds(r1.ru_stime) - seconds(r0.ru_stime);
  r.cpu_wall_s = double(t1 - t0) / 1e9;
  if (o.json) bench::print_json(r, stdout);
  else bench::print_table(r, stdout);
  return r.counters.errors() ? 1 : 0;
}
