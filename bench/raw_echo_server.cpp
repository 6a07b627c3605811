// ringcast-raw-echo: the plain-TCP baseline for bench/side_by_side.sh.
//
// What ringcast's echo costs over "the kernel's TCP path and nothing else"
// is the question it answers, so it has to be a good io_uring server, not a
// strawman. It uses the same techniques as ringcast's reactor (and liburing's
// examples/echo-server.c):
//  * one ring, SINGLE_ISSUER + DEFER_TASKRUN (COOP_TASKRUN before 6.1);
//  * multishot accept straight into the fixed-file table (no fd table);
//  * multishot recv from a provided-buffer ring, re-armed when F_MORE is clear
//    and after -ENOBUFS;
//  * one send in flight per connection, everything that arrived meanwhile
//    queued behind it and sent in one go (this keeps the byte order and
//    batches under pipelining);
//  * one submit_and_wait, one for_each_cqe, one cq_advance per turn; recycled
//    buffers are published once per turn;
//  * TCP_NODELAY on the listener, which accepted sockets inherit.
// It does no framing at all: whatever bytes arrive go back as they are.
//
// Usage: ringcast-raw-echo [--host 127.0.0.1] [--port 0] [--cpu N]
//                          [--max-conns 16384]
// Prints "listening on HOST:PORT" on stderr once it accepts (port 0 picks a
// free one). SIGINT/SIGTERM exit 0.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr unsigned kRingEntries = 4096;
constexpr uint16_t kBufferGroup = 0;
constexpr uint32_t kBufferCount = 2048;     // power of two, as the kernel requires
constexpr uint32_t kBufferBytes = 16384;    // same shape as ringcast's default receive buffers
constexpr size_t kMaxQueuedBytes = 4 << 20;  // a peer that never reads is dropped past this

// user_data: op in the top byte, fixed-file slot in the low 32 bits. Slots are
// reused only after close_direct, which is issued only once the connection has
// nothing in flight, so no generation is needed.
enum class Op : uint8_t { accept = 1, recv, send, close };
uint64_t encode(Op op, uint32_t slot) { return (uint64_t(op) << 56) | slot; }
Op op_of(uint64_t ud) { return Op(ud >> 56); }
uint32_t slot_of(uint64_t ud) { return uint32_t(ud); }

struct Conn {
  std::vector<uint8_t> sending;  // bytes of the send in flight, from `sent` on
  std::vector<uint8_t> queued;   // arrived while a send was in flight
  size_t sent = 0;               // prefix of `sending` already acknowledged
  bool open = false, recv_armed = false, send_in_flight = false;
  bool eof = false;          // the peer finished sending: flush, then close
  bool abort = false;        // error or overflow: drop output, close
  bool cancel_sent = false;  // the armed recv is being cancelled
};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int cpu = -1;
  uint32_t max_conns = 16384;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "ringcast-raw-echo: %s\nusage: ringcast-raw-echo [--host ADDR] [--port N] [--cpu N] [--max-conns N]\n", msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") usage("plain TCP echo over io_uring (the baseline for bench/side_by_side.sh)");
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const char* v = argv[++i];
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    const bool num_ok = end && *end == '\0' && end != v;
    if (a == "--host") o.host = v;
    else if (a == "--port" && num_ok && n >= 0 && n <= 65535) o.port = int(n);
    else if (a == "--cpu" && num_ok && n >= 0 && n < CPU_SETSIZE) o.cpu = int(n);
    else if (a == "--max-conns" && num_ok && n >= 1 && n <= 1 << 20) o.max_conns = uint32_t(n);
    else usage(("bad option or value: " + a + " " + v).c_str());
  }
  return o;
}

class Server {
 public:
  // Returns an error message, empty on success.
  std::string init(const Options& o);
  void run();

 private:
  io_uring_sqe* sqe();
  void arm_accept();
  void arm_recv(uint32_t slot);
  void submit_send(uint32_t slot);
  void on_accept(int res, uint32_t flags);
  void on_recv(uint32_t slot, int res, uint32_t flags);
  void on_send(uint32_t slot, int res);
  void close_if_idle(uint32_t slot);
  void recycle(uint16_t bid);

  io_uring ring_{};
  int listen_fd_ = -1;
  std::vector<Conn> conns_;
  io_uring_buf_ring* br_ = nullptr;
  uint8_t* buffers_ = nullptr;
  int recycled_ = 0;  // added to the buffer ring this turn, published before the next wait
  std::vector<uint32_t> rearm_;  // multishot recvs that ended (F_MORE clear or -ENOBUFS)
};

io_uring_sqe* Server::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) {  // SQ full: hand what we have to the kernel and take a fresh one
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

std::string Server::init(const Options& o) {
  // The fixed-file table may not exceed RLIMIT_NOFILE: raise the soft limit.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  uint32_t table = o.max_conns;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) table = std::min<uint32_t>(table, uint32_t(rl.rlim_cur));
  conns_.resize(table);

  io_uring_params p{};
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = kRingEntries * 4;
  int ret = io_uring_queue_init_params(kRingEntries, &ring_, &p);
  if (ret == -EINVAL) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
    p.cq_entries = kRingEntries * 4;
    ret = io_uring_queue_init_params(kRingEntries, &ring_, &p);
  }
  if (ret < 0) return std::string("io_uring_queue_init: ") + std::strerror(-ret);
  ret = io_uring_register_files_sparse(&ring_, table);
  if (ret < 0) return std::string("io_uring_register_files_sparse: ") + std::strerror(-ret);

  // Provided-buffer ring: the ring of descriptors and the buffers themselves.
  const size_t ring_bytes = kBufferCount * sizeof(io_uring_buf);
  void* r = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  void* b = mmap(nullptr, size_t(kBufferCount) * kBufferBytes, PROT_READ | PROT_WRITE,
                 MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
  if (r == MAP_FAILED || b == MAP_FAILED) return std::string("mmap: ") + std::strerror(errno);
  br_ = static_cast<io_uring_buf_ring*>(r);
  buffers_ = static_cast<uint8_t*>(b);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = kBufferCount;
  reg.bgid = kBufferGroup;
  ret = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (ret < 0) return std::string("io_uring_register_buf_ring: ") + std::strerror(-ret);
  io_uring_buf_ring_init(br_);
  for (uint32_t i = 0; i < kBufferCount; ++i) recycle(uint16_t(i));
  io_uring_buf_ring_advance(br_, recycled_);
  recycled_ = 0;

  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return std::string("socket: ") + std::strerror(errno);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(listen_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) return "--host must be an IPv4 address: " + o.host;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listen_fd_, 4096) != 0)
    return "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + std::strerror(errno);
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  arm_accept();
  std::fprintf(stderr, "listening on %s:%u\n", o.host.c_str(), unsigned(ntohs(addr.sin_port)));
  return {};
}

void Server::recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, buffers_ + size_t(bid) * kBufferBytes, kBufferBytes, bid,
                        io_uring_buf_ring_mask(kBufferCount), recycled_++);
}

void Server::arm_accept() {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept_direct(s, listen_fd_, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(s, encode(Op::accept, 0));
}

void Server::arm_recv(uint32_t slot) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, int(slot), nullptr, 0, 0);
  s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  s->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(s, encode(Op::recv, slot));
  conns_[slot].recv_armed = true;
}

void Server::submit_send(uint32_t slot) {
  Conn& c = conns_[slot];
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, int(slot), c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
  s->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(s, encode(Op::send, slot));
  c.send_in_flight = true;
}

void Server::on_accept(int res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) arm_accept();  // multishot ended (e.g. table full): re-arm
  if (res < 0) return;  // ECONNABORTED, ENFILE: that one is lost, keep accepting
  Conn& c = conns_[uint32_t(res)];
  c.sending.clear();
  c.queued.clear();
  c.sent = 0;
  c.open = true;
  c.send_in_flight = c.eof = c.abort = c.cancel_sent = false;
  arm_recv(uint32_t(res));
}

void Server::on_recv(uint32_t slot, int res, uint32_t flags) {
  Conn& c = conns_[slot];
  if (!(flags & IORING_CQE_F_MORE)) c.recv_armed = false;
  if (res > 0) {
    const uint16_t bid = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
    const uint8_t* data = buffers_ + size_t(bid) * kBufferBytes;
    // Copy out and give the buffer straight back: then buffers never run out
    // because of slow senders, and a 16 B copy is cheaper than the bookkeeping.
    if (!c.abort) {
      std::vector<uint8_t>& dst = c.send_in_flight ? c.queued : c.sending;
      dst.insert(dst.end(), data, data + res);
      if (c.queued.size() > kMaxQueuedBytes) c.abort = true;
      else if (!c.send_in_flight) submit_send(slot);
    }
    recycle(bid);
    if (c.abort) close_if_idle(slot);
    else if (!c.recv_armed) rearm_.push_back(slot);
    return;
  }
  if (res == -ENOBUFS) {  // every buffer was in use: re-arm after this turn's recycling is published
    if (!c.recv_armed && !c.abort) rearm_.push_back(slot);
    else if (c.abort) close_if_idle(slot);
    return;
  }
  // EOF: flush what is queued, then close. Error or our cancel: close now.
  if (res == 0) c.eof = true;
  else c.abort = true;
  close_if_idle(slot);
}

void Server::on_send(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  c.send_in_flight = false;
  if (res < 0) c.abort = true;
  if (c.abort) {
    close_if_idle(slot);
    return;
  }
  c.sent += size_t(res);
  if (c.sent == c.sending.size()) {
    c.sending.clear();
    c.sent = 0;
    std::swap(c.sending, c.queued);
  }
  if (!c.sending.empty()) submit_send(slot);
  else if (c.eof) close_if_idle(slot);
}

// Closes once nothing is in flight: the kernel may still write into a
// connection's state (and the slot must not be reused) until then.
void Server::close_if_idle(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!c.open || c.send_in_flight) return;
  if (c.recv_armed) {
    // Aborting while the multishot recv is armed: cancel it; its final
    // completion (no F_MORE) brings us back here.
    if (!c.cancel_sent) {
      io_uring_sqe* s = sqe();
      io_uring_prep_cancel64(s, encode(Op::recv, slot), 0);
      io_uring_sqe_set_data64(s, encode(Op::close, slot));
      c.cancel_sent = true;
    }
    return;
  }
  if (!c.abort && !(c.eof && c.sending.empty() && c.queued.empty())) return;
  c.open = false;
  io_uring_sqe* s = sqe();
  io_uring_prep_close_direct(s, slot);
  io_uring_sqe_set_data64(s, encode(Op::close, slot));
}

void Server::run() {
  for (;;) {
    for (uint32_t slot : rearm_) {
      const Conn& c = conns_[slot];
      if (c.open && !c.recv_armed && !c.eof && !c.abort) arm_recv(slot);
    }
    rearm_.clear();
    if (recycled_) {
      io_uring_buf_ring_advance(br_, recycled_);
      recycled_ = 0;
    }
    io_uring_cqe* cqe = nullptr;
    const int ret = io_uring_submit_and_wait(&ring_, 1);
    if (g_stop) return;
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      std::fprintf(stderr, "ringcast-raw-echo: io_uring_submit_and_wait: %s\n", std::strerror(-ret));
      std::exit(1);
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      const uint64_t ud = io_uring_cqe_get_data64(cqe);
      switch (op_of(ud)) {
        case Op::accept: on_accept(cqe->res, cqe->flags); break;
        case Op::recv: on_recv(slot_of(ud), cqe->res, cqe->flags); break;
        case Op::send: on_send(slot_of(ud), cqe->res); break;
        case Op::close: break;
      }
    }
    io_uring_cq_advance(&ring_, seen);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      std::fprintf(stderr, "ringcast-raw-echo: cannot pin to cpu %d: %s\n", o.cpu, std::strerror(errno));
      return 1;
    }
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: the wait returns -EINTR and we leave
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  static Server server;  // large; and its rings are torn down by the kernel at exit
  const std::string err = server.init(o);
  if (!err.empty()) {
    std::fprintf(stderr, "ringcast-raw-echo: %s\n", err.c_str());
    return 1;
  }
  server.run();
  return 0;
}
