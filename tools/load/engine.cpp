#include "engine.hpp"

#include "handshake.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>

namespace load {

// A connection's handshake scratch: the request we send and the response
// head we collect. Only max_connecting of them exist, so a thread holding
// 20,000 idle connections does not keep 20,000 of them.
struct Engine::Slot {
  static constexpr size_t kRequestCap = 2048;
  static constexpr size_t kResponseCap = 8192;
  char request[kRequestCap];
  uint32_t request_len = 0;
  uint32_t request_off = 0;
  uint32_t response_len = 0;
  char key[ws::kKeyLength];
  char response[kResponseCap];
};

// Adapts the frame reader's callbacks to the engine and the mode handler.
// Returning false stops the reader; when the connection is already finished
// (a handler aborted it) that is not a protocol error.
struct Engine::Sink {
  Engine& e;
  Conn& c;
  bool alive() const { return c.state == ConnState::open || c.state == ConnState::closing; }
  bool on_message_begin(uint8_t op) {
    if (!alive()) return false;
    if (c.close_received) return why("data frame after the server's close frame");
    e.h_.on_message_begin(c, op);
    return alive();
  }
  bool on_data(const uint8_t* p, size_t n, bool last) {
    e.h_.on_data(c, p, n, last);
    return alive();
  }
  bool on_ping(const uint8_t* p, size_t n) {
    ++e.stats.pings;
    if (c.close_sent) return true;  // no pong after our close frame (§5.5.1)
    if (c.pongs >= kMaxPongs) {
      // Answering the latest ping is enough (§5.5.3); drop rather than grow.
      ++e.stats.pings_unanswered;
      return true;
    }
    e.queue_control(c, ws::kOpPong, p, n);
    ++c.pongs;
    return true;
  }
  bool on_pong() { return true; }
  bool on_close(uint16_t code) {
    e.on_server_close(c, code);
    return alive();
  }
  bool why(const char* w) {
    error = w;
    return false;
  }
  const char* error = nullptr;
};

namespace {
constexpr uint32_t kGenMask = 0xFFFFFF;
constexpr uint64_t kDrainLimitNs = 2'000'000'000;
}  // namespace

// user_data = index << 32 | generation (24 bits) << 8 | op: the only place
// it is laid out; handle() takes it apart.
uint64_t Engine::encode(const Conn& c, Op op) {
  return uint64_t(c.index) << 32 | uint64_t(c.gen & kGenMask) << 8 | op;
}

Engine::Engine(const EngineConfig& cfg, EngineHandler& h, Live& live)
    : cfg_(cfg), h_(h), livec_(live) {}

Engine::~Engine() {
  // No handler callbacks from here: the handler owning us may be half gone.
  // Owners call shutdown() first, so normally nothing is left to drop.
  for (Conn& c : conns_) {
    if (c.fd < 0) continue;
    ::shutdown(c.fd, SHUT_RDWR);
    ::close(c.fd);
    c.fd = -1;
    c.state = ConnState::done;
    ++c.gen;
  }
  if (ring_ok_) {
    const uint64_t deadline = now_ns() + kDrainLimitNs;
    while (ops_ > 0 && now_ns() < deadline) poll(10'000'000);
    bufs_.release();
    io_uring_queue_exit(&ring_);
  }
}

std::string Engine::init() {
  const uint32_t n = std::max<uint32_t>(cfg_.connections, 1);
  io_uring_params p{};
  p.cq_entries = std::bit_ceil(std::clamp<uint32_t>(4 * n + 64, 256, 65536));
  const unsigned sq = std::bit_ceil(std::clamp<uint32_t>(2 * n + 64, 64, 4096));
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
  // DEFER_TASKRUN runs completions only when we wait, so a send never
  // interrupts the thread mid-batch; older kernels get the COOP fallback.
  struct { unsigned flags; const char* name; } tries[] = {
      {base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "defer_taskrun"},
      {base | IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
      {IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP, "plain"},
  };
  int rc = -EINVAL;
  for (auto& t : tries) {
    io_uring_params q = p;
    q.flags = t.flags;
    rc = io_uring_queue_init_params(sq, &ring_, &q);
    if (rc == 0) {
      ring_mode_ = t.name;
      stats.ring_mode = t.name;
      ring_ok_ = true;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (!ring_ok_)
    return std::string("io_uring setup: ") + std::strerror(-rc) +
           " (check kernel.io_uring_disabled and RLIMIT_MEMLOCK)";
  uint32_t nbufs = cfg_.recv_bufs ? cfg_.recv_bufs : std::bit_ceil(std::clamp<uint32_t>(n, 64, 1024));
  if (std::string err = bufs_.init(&ring_, nbufs, cfg_.recv_buf_size); !err.empty()) return err;

  conns_.resize(cfg_.connections);
  auto room = [&](uint32_t i) {
    return cfg_.stage_bytes_per_conn.empty() ? cfg_.stage_bytes : cfg_.stage_bytes_per_conn[i];
  };
  size_t total = 0;
  for (uint32_t i = 0; i < cfg_.connections; ++i) total += 2 * (size_t(room(i)) + kControlRoom);
  stage_mem_.reset(new uint8_t[total ? total : 1]);
  uint8_t* at = stage_mem_.get();
  for (uint32_t i = 0; i < cfg_.connections; ++i) {
    Conn& c = conns_[i];
    c.index = i;
    c.room = room(i);
    c.sbuf[0] = at;
    c.sbuf[1] = at + c.room + kControlRoom;
    at += 2 * (size_t(c.room) + kControlRoom);
  }
  if (!cfg_.raw) {
    uint32_t k = std::min(cfg_.max_connecting, std::max<uint32_t>(cfg_.connections, 1));
    slots_.reset(new Slot[k]);
    for (int32_t s = int32_t(k) - 1; s >= 0; --s) free_slots_.push_back(s);
  }
  dirty_.reserve(cfg_.connections);
  rearm_.reserve(cfg_.connections);
  now_ = now_ns();
  return {};
}

io_uring_sqe* Engine::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  assert(s);  // submit just emptied the SQ
  ++ops_;
  return s;
}

bool Engine::start(uint32_t i) {
  Conn& c = conns_[i];
  assert(c.state == ConnState::free || c.state == ConnState::done);
  if (!can_start()) return false;
  const Target& t = *cfg_.target;
  const uint32_t gen = c.gen;
  uint8_t* sb0 = c.sbuf[0];
  uint8_t* sb1 = c.sbuf[1];
  const uint32_t room = c.room;
  const bool dirty = c.dirty;  // it may still sit in dirty_
  c = Conn{};
  c.index = i;
  c.gen = gen;
  c.room = room;
  c.dirty = dirty;
  c.sbuf[0] = sb0;
  c.sbuf[1] = sb1;
  c.state = ConnState::connecting;
  c.t_start = now_ns();
  ++live_;
  c.fd = socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    fail(c, &EngineStats::connect_failed, errno == EMFILE ? "socket: too many open files" : "socket() failed");
    return false;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (cfg_.spread_sources && t.ipv4) {
    // 127.0.0.X with X cycling over 2..254: each source address has its own
    // ~28k ephemeral ports towards the one server port. NO_PORT defers the
    // port choice to connect(), where the full 4-tuple is known.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F000000u | (2 + (cfg_.source_offset + i) % 253));
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      fail(c, &EngineStats::connect_failed, "bind() to a 127.0.0.X source address failed");
      return false;
    }
  }
  if (!cfg_.raw) {
    c.slot = free_slots_.back();
    free_slots_.pop_back();
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_connect(s, c.fd, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len);
  io_uring_sqe_set_data64(s, encode(c, kConnect));
  return true;
}

void Engine::on_connect(Conn& c, int res) {
  if (res < 0) {
    // Keep errno text for the first failure; the counters do the rest.
    if (stats.first_error.empty())
      stats.first_error = std::string("connect to ") + cfg_.target->text + ": " + std::strerror(-res);
    return fail(c, &EngineStats::connect_failed, "connect failed");
  }
  c.t_connected = now_ns();
  arm_recv(c);
  if (cfg_.raw) {
    c.state = ConnState::open;
    c.t_open = c.t_connected;
    livec_.handshakes.add();
    livec_.open.add();
    h_.on_open(c);
    return;
  }
  Slot& s = slots_[c.slot];
  ws::make_key(rng_.next(), rng_.next(), s.key);
  const Target& t = *cfg_.target;
  s.request_len = uint32_t(ws::write_request(s.request, Slot::kRequestCap, t.host_header, t.path,
                                             std::string_view(s.key, ws::kKeyLength)));
  s.request_off = 0;
  s.response_len = 0;
  if (s.request_len == 0) return fail(c, &EngineStats::handshake_failed, "request path too long");
  c.state = ConnState::handshake;
  send_request(c);
}

void Engine::send_request(Conn& c) {
  Slot& s = slots_[c.slot];
  c.send_busy = true;
  io_uring_sqe* q = sqe();
  io_uring_prep_send(q, c.fd, s.request + s.request_off, s.request_len - s.request_off, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(q, encode(c, kRequest));
}

void Engine::on_request_sent(Conn& c, int res) {
  c.send_busy = false;
  if (c.state != ConnState::handshake) return flush(c);  // upgraded before the CQE came
  if (res < 0) return fail(c, &EngineStats::handshake_failed, "sending the upgrade request failed");
  Slot& s = slots_[c.slot];
  stats.bytes_out += uint64_t(res);
  s.request_off += uint32_t(res);
  if (s.request_off < s.request_len) send_request(c);
}

void Engine::arm_recv(Conn& c) {
  c.recv_armed = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = BufRing::kGroup;
  io_uring_sqe_set_data64(s, encode(c, kRecv));
}

size_t Engine::stage_room(const Conn& c) const {
  uint32_t used = c.slen[c.active ^ 1];
  return used >= c.room ? 0 : c.room - used;
}

uint8_t* Engine::begin_message(Conn& c, uint8_t opcode, size_t n) {
  assert(!pending_payload_);
  if (c.state != ConnState::open) return nullptr;
  const size_t h = cfg_.raw ? 0 : ws::client_header_size(n);
  if (h + n > stage_room(c)) return nullptr;
  const uint8_t st = c.active ^ 1;
  uint8_t* out = c.sbuf[st] + c.slen[st];
  if (!cfg_.raw) {
    pending_key_ = uint32_t(rng_.next());
    ws::write_client_header(out, opcode, n, pending_key_);
  }
  pending_payload_ = out + h;
  return pending_payload_;
}

void Engine::commit_message(Conn& c, uint8_t* payload, size_t n) {
  assert(payload == pending_payload_);
  const uint8_t st = c.active ^ 1;
  if (!cfg_.raw) ws::mask_payload(payload, n, pending_key_);
  c.slen[st] = uint32_t(payload + n - c.sbuf[st]);
  pending_payload_ = nullptr;
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(c.index);
  }
}

bool Engine::send_message(Conn& c, uint8_t opcode, const void* p, size_t n) {
  uint8_t* out = begin_message(c, opcode, n);
  if (!out) return false;
  std::memcpy(out, p, n);
  commit_message(c, out, n);
  return true;
}

void Engine::queue_control(Conn& c, uint8_t opcode, const uint8_t* p, size_t n) {
  // Control frames use the room kept beyond stage_bytes, so they always fit.
  const uint8_t st = c.active ^ 1;
  uint8_t* out = c.sbuf[st] + c.slen[st];
  const uint32_t key = uint32_t(rng_.next());
  size_t h = ws::write_client_header(out, opcode, n, key);
  std::memcpy(out + h, p, n);
  ws::mask_payload(out + h, n, key);
  c.slen[st] += uint32_t(h + n);
  assert(c.slen[st] <= c.room + kControlRoom);
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(c.index);
  }
}

void Engine::flush(Conn& c) {
  if (c.send_busy || (c.state != ConnState::open && c.state != ConnState::closing)) return;
  const uint8_t st = c.active ^ 1;
  if (c.slen[st] == 0) return maybe_shut_write(c);
  c.slen[c.active] = 0;
  c.active = st;
  c.soff = 0;
  c.pongs = 0;
  c.send_busy = true;
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c.fd, c.sbuf[st], c.slen[st], MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, encode(c, kSend));
}

void Engine::on_send(Conn& c, int res) {
  c.send_busy = false;
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) {
      res = 0;
    } else if (c.state == ConnState::closing) {
      return finish(c, c.close_received ? (c.server_initiated ? EndKind::server_closed : EndKind::clean)
                                        : EndKind::unclean,
                    "send failed while closing");
    } else {
      return fail(c, &EngineStats::dropped, "send failed (connection reset?)");
    }
  }
  stats.bytes_out += uint64_t(res);
  c.soff += uint32_t(res);
  if (c.soff < c.slen[c.active]) {
    c.send_busy = true;
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c.fd, c.sbuf[c.active] + c.soff, c.slen[c.active] - c.soff, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, encode(c, kSend));
    return;
  }
  flush(c);
  if (c.state == ConnState::open) h_.on_writable(c);
}

void Engine::maybe_shut_write(Conn& c) {
  if (cfg_.raw && c.state == ConnState::closing && !c.send_busy && !c.shut_wr &&
      c.slen[c.active ^ 1] == 0) {
    c.shut_wr = true;
    ::shutdown(c.fd, SHUT_WR);
  }
}

void Engine::close(Conn& c, uint16_t code) {
  if (c.state == ConnState::connecting || c.state == ConnState::handshake)
    return abort(c, EndKind::unclean, "closed before the upgrade completed");
  if (c.state != ConnState::open) return;
  c.state = ConnState::closing;
  if (cfg_.raw) return maybe_shut_write(c);
  const uint8_t body[2] = {uint8_t(code >> 8), uint8_t(code)};
  queue_control(c, ws::kOpClose, body, 2);
  c.close_sent = true;
}

void Engine::on_server_close(Conn& c, uint16_t code) {
  c.close_received = true;
  c.close_code = code;
  if (c.close_sent) return;  // the answer to ours: wait for EOF
  ++stats.server_closes;
  if (!stats.first_server_close) stats.first_server_close = code;
  c.server_initiated = true;
  c.state = ConnState::closing;
  // Echo the status code (§5.5.1); 1005 means the server sent none.
  const uint8_t body[2] = {uint8_t(code >> 8), uint8_t(code)};
  queue_control(c, ws::kOpClose, body, code == 1005 ? 0 : 2);
  c.close_sent = true;
  h_.on_server_close(c, code);
}

void Engine::abort(Conn& c, EndKind kind, const char* why) {
  if (c.state == ConnState::free || c.state == ConnState::done) return;
  finish(c, kind, why);
}

void Engine::note_error(const Conn& c, const char* why) {
  if (!stats.first_error.empty()) return;
  stats.first_error = "connection " + std::to_string(cfg_.source_offset + c.index) + ": " + why;
}

void Engine::fail(Conn& c, uint64_t EngineStats::*counter, const char* why) {
  ++(stats.*counter);
  note_error(c, why);
  finish(c, EndKind::failed, why);
}

void Engine::finish(Conn& c, EndKind kind, const char* why) {
  if (c.slot >= 0) {
    free_slots_.push_back(c.slot);
    c.slot = -1;
  }
  if (c.fd >= 0) {
    ::shutdown(c.fd, SHUT_RDWR);  // completes whatever the kernel still holds
    ::close(c.fd);
    c.fd = -1;
  }
  if (c.state == ConnState::open || c.state == ConnState::closing) livec_.open.sub();
  if (kind == EndKind::failed) livec_.failures.add();
  if (kind == EndKind::clean) ++stats.clean_closes;
  if (kind == EndKind::unclean) ++stats.unclean_closes;
  c.state = ConnState::done;
  ++c.gen;
  --live_;
  h_.on_closed(c, kind, why);
}

void Engine::on_recv(Conn& c, int res, const uint8_t* data, bool more) {
  if (!more) c.recv_armed = false;
  if (res > 0) {
    stats.bytes_in += uint64_t(res);
    now_ = now_ns();
    if (c.state == ConnState::handshake) on_handshake_bytes(c, data, size_t(res));
    else if (c.state == ConnState::open || c.state == ConnState::closing) feed(c, data, size_t(res));
  } else if (res == 0) {
    return on_eof(c);
  } else if (res == -ENOBUFS) {
    ++stats.enobufs;
  } else if (c.state == ConnState::closing) {
    return finish(c, c.close_received ? (c.server_initiated ? EndKind::server_closed : EndKind::clean)
                                      : EndKind::unclean,
                  "receive failed while closing");
  } else {
    return fail(c, c.state == ConnState::handshake ? &EngineStats::handshake_failed : &EngineStats::dropped,
                "receive failed (connection reset?)");
  }
  // Re-armed after this batch's buffers are back in the ring (-ENOBUFS).
  if (!c.recv_armed && c.fd >= 0) {
    c.recv_armed = true;
    rearm_.push_back(c.index);
  }
}

void Engine::on_handshake_bytes(Conn& c, const uint8_t* p, size_t n) {
  Slot& s = slots_[c.slot];
  if (s.response_len + n > Slot::kResponseCap)
    return fail(c, &EngineStats::handshake_failed, "upgrade response head larger than 8 KiB");
  std::memcpy(s.response + s.response_len, p, n);
  s.response_len += uint32_t(n);
  ws::HandshakeResult r = ws::check_response(std::string_view(s.response, s.response_len),
                                             std::string_view(s.key, ws::kKeyLength));
  if (r.status == ws::HandshakeStatus::incomplete) return;
  if (r.status == ws::HandshakeStatus::failed) {
    if (stats.first_error.empty()) {
      std::string_view head(s.response, s.response_len);
      note_error(c, (std::string(r.error) + " (got: " + std::string(head.substr(0, head.find("\r\n"))) + ")").c_str());
    }
    return fail(c, &EngineStats::handshake_failed, r.error);
  }
  c.state = ConnState::open;
  c.t_open = now_;
  livec_.handshakes.add();
  livec_.open.add();
  const int32_t slot = c.slot;
  const uint32_t gen = c.gen;
  h_.on_open(c);
  // Frames that came right behind the 101. The slot is still ours: it is
  // handed back only after they are fed.
  if (c.gen == gen && r.head_bytes < s.response_len)
    feed(c, reinterpret_cast<const uint8_t*>(s.response) + r.head_bytes, s.response_len - r.head_bytes);
  if (c.gen == gen && c.slot == slot) {
    free_slots_.push_back(slot);
    c.slot = -1;
  }
  if (c.gen == gen && !c.send_busy) flush(c);  // frames on_open staged
}

void Engine::feed(Conn& c, const uint8_t* p, size_t n) {
  if (cfg_.raw) return h_.on_data(c, p, n, false);
  Sink sink{*this, c};
  const uint32_t gen = c.gen;
  if (c.reader.feed(p, n, sink)) return;
  if (c.gen != gen || c.state == ConnState::done) return;  // a handler ended it
  fail(c, &EngineStats::protocol_errors, sink.error ? sink.error : c.reader.error());
}

void Engine::on_eof(Conn& c) {
  switch (c.state) {
    case ConnState::handshake:
      return fail(c, &EngineStats::handshake_failed, "server closed the connection during the upgrade");
    case ConnState::open:
      return fail(c, &EngineStats::dropped, cfg_.raw ? "server closed the connection"
                                                     : "server closed the connection without a close frame");
    case ConnState::closing:
      if (cfg_.raw || c.close_received)
        return finish(c, c.server_initiated ? EndKind::server_closed : EndKind::clean, nullptr);
      return finish(c, EndKind::unclean, "EOF before the server's close frame");
    default:
      return;
  }
}

void Engine::handle(io_uring_cqe* cqe) {
  const uint64_t ud = io_uring_cqe_get_data64(cqe);
  const bool more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) --ops_;
  const uint8_t* data = nullptr;
  uint16_t bid = 0;
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    bid = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    data = bufs_.buffer(bid);
  }
  Conn& c = conns_[uint32_t(ud >> 32)];
  if (((ud >> 8) & kGenMask) == (c.gen & kGenMask)) {
    switch (Op(ud & 0xFF)) {
      case kConnect: on_connect(c, cqe->res); break;
      case kSend: on_send(c, cqe->res); break;
      case kRequest: on_request_sent(c, cqe->res); break;
      case kRecv: on_recv(c, cqe->res, data, more); break;
    }
  }
  if (data) bufs_.recycle(bid);
}

bool Engine::poll(uint64_t wait_ns) {
  // Each connection is listed at most once (its dirty flag), so the list
  // never outgrows the capacity reserved in init().
  for (uint32_t i : dirty_) {
    Conn& c = conns_[i];
    c.dirty = false;
    flush(c);
  }
  dirty_.clear();
  io_uring_cqe* cqe = nullptr;
  // Always wait for one completion, if only for a microsecond: with
  // DEFER_TASKRUN, completions are only posted while we wait in the kernel.
  wait_ns = std::max<uint64_t>(wait_ns, 1000);
  __kernel_timespec ts{int64_t(wait_ns / 1'000'000'000u), int64_t(wait_ns % 1'000'000'000u)};
  int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    if (stats.first_error.empty()) stats.first_error = std::string("io_uring_submit_and_wait: ") + std::strerror(-rc);
    return false;
  }
  now_ = now_ns();
  unsigned head, seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    handle(cqe);
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
  bufs_.publish();
  for (uint32_t i : rearm_) {
    Conn& c = conns_[i];
    if (c.fd >= 0 && (c.state == ConnState::handshake || c.state == ConnState::open || c.state == ConnState::closing))
      arm_recv(c);
    else
      c.recv_armed = false;
  }
  rearm_.clear();
  return true;
}

void Engine::shutdown() {
  if (!ring_ok_) return;
  for (Conn& c : conns_)
    if (c.state != ConnState::free && c.state != ConnState::done) finish(c, EndKind::unclean, "still open at exit");
  const uint64_t deadline = now_ns() + kDrainLimitNs;
  while (ops_ > 0 && now_ns() < deadline) poll(10'000'000);
}

}  // namespace load
