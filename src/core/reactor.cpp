#include "core/reactor.hpp"

#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/clock.hpp"
#include "core/user_data.hpp"

namespace ringcast::core {

namespace {

constexpr uint16_t kBufferGroup = 1;
constexpr unsigned kRingEntries = 4096;
constexpr uint64_t kMaxSleepMs = 1000;

// TCP_NODELAY on a direct descriptor, which setsockopt(2) cannot reach:
// IORING_OP_URING_CMD with SOCKET_URING_OP_SETSOCKOPT (Linux 6.7). liburing
// 2.3 predates it, so the fields are filled by hand, at the offsets the
// kernel reads them from: level and optname share sqe->addr, optval is
// sqe->addr3, optlen is sqe->file_index. Older kernels answer -EOPNOTSUPP
// (or -EINVAL) and the connection simply keeps Nagle's algorithm.
constexpr uint32_t kSocketUringOpSetsockopt = 3;
const int kOne = 1;

void prep_nodelay(io_uring_sqe* sqe, int fixed_fd) {
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fixed_fd, nullptr, 0, 0);
  sqe->cmd_op = kSocketUringOpSetsockopt;
  sqe->addr = (uint64_t(TCP_NODELAY) << 32) | uint64_t(IPPROTO_TCP);
  sqe->addr3 = uint64_t(reinterpret_cast<uintptr_t>(&kOne));
  sqe->file_index = sizeof(kOne);
  sqe->flags |= IOSQE_FIXED_FILE;
}

}  // namespace

Reactor::Reactor(const ReactorOptions& opts, std::unique_ptr<ConnectionHandler> handler)
    : opts_(opts),
      handler_(std::move(handler)),
      timers_(monotonic_ms()),
      conns_(size_t(opts.max_connections) + kSpareSlots + opts.max_outbound),
      outbound_(opts.max_outbound),
      outbound_base_(opts.max_connections + kSpareSlots) {
  std::memset(accept_, 0, sizeof(accept_));
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  // Popped from the back: the lowest outbound slot is used first.
  outbound_free_.reserve(opts.max_outbound);
  for (uint32_t i = opts.max_outbound; i > 0; --i) outbound_free_.push_back(outbound_base_ + i - 1);
}

Reactor::~Reactor() {
  // First the ring: sends still in flight point into the output buffers.
  ring_.exit();
  for (auto& c : conns_) c.out.clear(pool_);
  if (opts_.listen_fd >= 0) ::close(opts_.listen_fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

ConnId Reactor::conn_id(uint32_t slot) const {
  return (uint64_t(opts_.index & 0xFF) << 56) | (uint64_t(conns_[slot].generation & kGenerationMask) << 32) | slot;
}

void Reactor::request_stop() {
  stop_requested_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

std::string Reactor::run(std::atomic<int>& ready_count) {
  if (opts_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(opts_.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  std::string err = ring_.init(kRingEntries, uint32_t(conns_.size()));
  if (!err.empty()) return err;
  if (opts_.max_outbound > 0) {
    // Accepts allocate below outbound_base_ only; connect() installs into
    // the slots above it itself. Without the range an accept could take an
    // outbound slot and a connect would replace that client's socket.
    int r = io_uring_register_file_alloc_range(ring_.get(), 0, outbound_base_);
    if (r < 0) return std::string("io_uring_register_file_alloc_range failed: ") + std::strerror(-r);
  }
  int ret = buffers_.init(ring_.get(), kBufferGroup, opts_.recv_buffers, opts_.recv_buffer_bytes);
  if (ret < 0) return std::string("registering the provided-buffer ring failed: ") + std::strerror(-ret);
  if (!ring_.defer_taskrun() && opts_.index == 0) {
    // Not silent: this kernel (before 6.1) runs completions cooperatively.
    std::fprintf(stderr, "ringcast: io_uring DEFER_TASKRUN unavailable, using COOP_TASKRUN\n");
  }

  now_ms_ = monotonic_ms();
  running_ = true;
  for (uint32_t i = 0; i < kAcceptSlots; ++i) arm_accept(i);
  arm_wake();
  ready_count.fetch_add(1, std::memory_order_acq_rel);

  io_uring* ring = ring_.get();
  for (;;) {
    handler_->on_turn(*this);
    flush();
    for (uint32_t slot : rearm_) {
      const uint16_t f = conns_[slot].flags;
      const bool wants = !(f & kClosing) || (f & kGraceful);  // a graceful close waits for the FIN
      if ((f & kOpen) && !(f & (kRecvArmed | kPaused)) && wants) arm_recv(slot);
    }
    rearm_.clear();
    buffers_.publish(now_ms_);
    pool_.trim(now_ms_);

    const uint64_t wait_ms = handler_->before_sleep(*this, timers_.ms_until_next(now_ms_, kMaxSleepMs));
    __kernel_timespec ts;
    ts.tv_sec = int64_t(wait_ms / 1000);
    ts.tv_nsec = int64_t(wait_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
      return std::string("io_uring_submit_and_wait_timeout: ") + std::strerror(-ret);
    }
    now_ms_ = monotonic_ms();

    unsigned head, seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      const uint64_t ud = cqe->user_data;
      const uint32_t slot = user_data_slot(ud);
      switch (user_data_op(ud)) {
        case Op::accept:
          on_accept(slot, cqe->res);
          break;
        case Op::recv:
          on_recv(slot, cqe->res, cqe->flags);
          break;
        case Op::send:
          on_send(slot, cqe->res);
          break;
        case Op::shutdown:
        case Op::cancel:
          --conns_[slot].pending;
          maybe_release(slot);
          break;
        case Op::close:
          // An outbound slot is free for connect() once its descriptor is
          // gone (accepted slots are the kernel's to allocate).
          if (slot >= outbound_base_ && slot < conns_.size()) outbound_free_.push_back(slot);
          break;
        case Op::socket:
          on_socket(slot, cqe->res);
          break;
        case Op::connect:
          on_connect(slot, cqe->res);
          break;
        case Op::sockopt:
          --conns_[slot].pending;
          connect_progress(slot);
          break;
        case Op::wake:
          if (stop_requested_.load(std::memory_order_acquire) && !stopping_) begin_stop();
          arm_wake();
          break;
      }
    }
    io_uring_cq_advance(ring, seen);

    timers_.advance(now_ms_, [this](TimerNode* n) {
      // Each Conn embeds its node: recover the slot from the node's address.
      auto* c = reinterpret_cast<Conn*>(reinterpret_cast<char*>(n) - offsetof(Conn, timer));
      on_timer_fired(uint32_t(c - conns_.data()));
    });

    if (stopping_) {
      // Outbound connections served the clients; once those are gone, so are they.
      if (open_count_ == 0 && outbound_count_ != 0 && !outbound_aborted_) abort_outbound();
      if ((open_count_ == 0 && outbound_count_ == 0) || now_ms_ >= stop_deadline_ms_) break;
    }
  }
  running_ = false;
  return {};
}

void Reactor::arm_accept(uint32_t i) {
  AcceptSlot& a = accept_[i];
  if (a.armed || opts_.listen_fd < 0) return;
  a.len = sizeof(a.addr);
  io_uring_sqe* sqe = ring_.sqe();
  // One request per slot, each with its own address buffer: a multishot
  // accept shares one buffer between all the sockets it accepts in a batch,
  // so it cannot tell which peer address belongs to which connection.
  // No SOCK_CLOEXEC: a direct descriptor is not in the fd table (the kernel
  // rejects the flag), so there is nothing for exec to inherit anyway.
  io_uring_prep_accept_direct(sqe, opts_.listen_fd, reinterpret_cast<sockaddr*>(&a.addr), &a.len, 0,
                              IORING_FILE_INDEX_ALLOC - 1);
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::accept, i, 0));
  a.armed = true;
}

void Reactor::arm_wake() {
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::wake, 0, 0));
}

void Reactor::arm_recv(uint32_t slot) {
  Conn& c = conns_[slot];
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv_multishot(sqe, int(slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group_id();
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::recv, slot, c.generation));
  c.flags |= kRecvArmed;
  ++c.pending;
}

void Reactor::on_accept(uint32_t i, int res) {
  AcceptSlot& a = accept_[i];
  a.armed = false;
  if (res < 0) {
    if (res == -ENFILE || res == -EMFILE) {
      // The direct-descriptor table is full: accept again once a slot frees.
      accept_stalled_ = true;
      return;
    }
    if (stopping_ || res == -ECANCELED) return;
    if (res == -EBADF || res == -EINVAL) {
      // The listener is unusable: say so once instead of spinning.
      std::fprintf(stderr, "ringcast: reactor %u: accept failed: %s; this reactor stops accepting\n",
                   opts_.index, std::strerror(-res));
      return;
    }
    arm_accept(i);  // ECONNABORTED and friends: that peer is gone, keep accepting
    return;
  }
  const uint32_t slot = uint32_t(res);
  if (stopping_) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, encode_user_data(Op::close, slot, 0));
    return;
  }
  arm_accept(i);
  Conn& c = conns_[slot];
  assert(!(c.flags & kOpen) && c.pending == 0);
  c.flags = kOpen;
  c.out_limit = 1u << 20;
  std::memcpy(&c.peer, &a.addr, sizeof(c.peer));
  ++open_count_;
  arm_recv(slot);
  if (open_count_ > opts_.max_connections) {
    handler_->on_reject(*this, slot);
    return;
  }
  handler_->on_open(*this, slot);
}

void Reactor::on_recv(uint32_t slot, int res, uint32_t cqe_flags) {
  Conn& c = conns_[slot];
  const bool more = cqe_flags & IORING_CQE_F_MORE;
  if (!more) {
    c.flags &= uint16_t(~kRecvArmed);
    --c.pending;
  }
  if (cqe_flags & IORING_CQE_F_BUFFER) {
    const uint16_t bid = uint16_t(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
    if (res > 0 && !(c.flags & kClosing)) {
      handler_->on_data(*this, slot, std::span<uint8_t>(buffers_.buffer(bid), size_t(res)));
    }
    buffers_.recycle(bid);
  } else if (res == -ENOBUFS) {
    buffers_.note_shortage();
  }
  if (res == 0) {
    // The peer's FIN: it sent all it will, but may still read. What it sent
    // has been handled; what we queued for it still goes out, then we close.
    if (!(c.flags & kClosing)) close(slot, true);
    maybe_release(slot);
    return;
  }
  if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
    // A socket error (reset): nothing more can be delivered.
    if (c.flags & kClosing) abort_io(slot); else close(slot, false);
    maybe_release(slot);
    return;
  }
  if (!more && (c.flags & kOpen)) {
    if (c.flags & kClosing) {
      // A graceful close keeps reading until the peer's FIN, also when the
      // receive ended for buffers or was cancelled by a pause just before.
      if (c.flags & kGraceful) {
        if (res == -ENOBUFS) rearm_.push_back(slot); else arm_recv(slot);
      }
      maybe_release(slot);
    } else if (!(c.flags & kPaused)) {
      // -ENOBUFS (every receive buffer is in use) or the kernel ended the
      // multishot: re-arm after this turn's buffers are given back.
      rearm_.push_back(slot);
    }
  }
}

uint8_t* Reactor::out_reserve(uint32_t slot, size_t n) { return conns_[slot].out.reserve(pool_, n); }

void Reactor::out_commit(uint32_t slot, size_t n) {
  Conn& c = conns_[slot];
  c.out.commit(n);
  if (!(c.flags & kDirty)) {
    c.flags |= kDirty;
    dirty_.push_back(slot);
  }
  if (c.out.bytes() > c.out_limit && !(c.flags & kPaused)) pause_reading(slot);
}

void Reactor::out_append_shared(uint32_t slot, OutBuffer* b, uint32_t offset, uint32_t length) {
  Conn& c = conns_[slot];
  c.out.append_shared(pool_, b, offset, length);
  if (!(c.flags & kDirty)) {
    c.flags |= kDirty;
    dirty_.push_back(slot);
  }
}

void Reactor::pause_reading(uint32_t slot) {
  Conn& c = conns_[slot];
  c.flags |= kPaused;
  if (c.flags & kRecvArmed) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_cancel64(sqe, encode_user_data(Op::recv, slot, c.generation), 0);
    io_uring_sqe_set_data64(sqe, encode_user_data(Op::cancel, slot, c.generation));
    ++c.pending;
  }
}

void Reactor::flush() {
  // Index loop: submit_send never adds to dirty_, but close paths may.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    const uint32_t slot = dirty_[i];
    Conn& c = conns_[slot];
    c.flags &= uint16_t(~kDirty);
    // A connecting slot keeps its output until connect_progress queues it again.
    if (!(c.flags & kOpen) || (c.flags & (kSendInFlight | kConnecting))) continue;
    if ((c.flags & kClosing) && !(c.flags & kGraceful)) continue;  // aborted: nothing more goes out
    if (!c.out.empty()) {
      submit_send(slot);
    } else if ((c.flags & (kClosing | kGraceful | kShutdownSent)) == (kClosing | kGraceful)) {
      maybe_release(slot);
    }
  }
  dirty_.clear();
}

void Reactor::submit_send(uint32_t slot) {
  Conn& c = conns_[slot];
  SendCtx* ctx;
  if (!send_ctx_free_.empty()) {
    ctx = send_ctx_free_.back();
    send_ctx_free_.pop_back();
  } else {
    send_ctx_all_.push_back(std::make_unique<SendCtx>());
    ctx = send_ctx_all_.back().get();
  }
  std::memset(&ctx->msg, 0, sizeof(ctx->msg));
  ctx->msg.msg_iov = ctx->iov;
  ctx->msg.msg_iovlen = size_t(c.out.gather(ctx->iov, OutQueue::kMaxIov));
  c.sending = ctx;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_sendmsg(sqe, int(slot), &ctx->msg, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::send, slot, c.generation));
  c.flags |= kSendInFlight;
  ++c.pending;
}

void Reactor::on_send(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  c.flags &= uint16_t(~kSendInFlight);
  --c.pending;
  send_ctx_free_.push_back(c.sending);
  c.sending = nullptr;
  if (res < 0) {
    if (c.flags & kClosing) abort_io(slot); else close(slot, false);
    maybe_release(slot);
    return;
  }
  c.out.consume(pool_, size_t(res));
  if ((c.flags & kClosing) && !(c.flags & kGraceful)) {
    c.out.clear(pool_);  // an abort waited for this send to let go of the buffers
    maybe_release(slot);
    return;
  }
  if (!c.out.empty()) {
    if (!(c.flags & kDirty)) {
      c.flags |= kDirty;
      dirty_.push_back(slot);
    }
  } else if (c.flags & kClosing) {
    maybe_release(slot);
    return;
  }
  if ((c.flags & kPaused) && c.out.bytes() <= c.out_limit / 2 && !(c.flags & kClosing)) {
    c.flags &= uint16_t(~kPaused);
    if (!(c.flags & kRecvArmed)) rearm_.push_back(slot);
  }
}

void Reactor::set_timer(uint32_t slot, uint64_t at_ms) { timers_.schedule(&conns_[slot].timer, at_ms); }

void Reactor::cancel_timer(uint32_t slot) { timers_.cancel(&conns_[slot].timer); }

void Reactor::submit_shutdown(uint32_t slot, int how) {
  Conn& c = conns_[slot];
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_shutdown(sqe, int(slot), how);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::shutdown, slot, c.generation));
  ++c.pending;
}

void Reactor::abort_io(uint32_t slot) {
  Conn& c = conns_[slot];
  c.flags &= uint16_t(~kGraceful);
  // The kernel reads queued output until a send completes: with one in
  // flight the buffers stay until on_send, which the shutdown hurries along.
  if (!(c.flags & kSendInFlight)) c.out.clear(pool_);
  // Shutdown wakes a pending receive (EOF) and a blocked send (EPIPE).
  if (c.flags & (kRecvArmed | kSendInFlight)) submit_shutdown(slot, SHUT_RDWR);
}

void Reactor::on_timer_fired(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!(c.flags & kOpen)) return;
  if (c.flags & kClosing) {
    // The peer did not finish the close in time (or stopped reading): drop it.
    abort_io(slot);
    maybe_release(slot);
    return;
  }
  handler_->on_timer(*this, slot);
}

void Reactor::close(uint32_t slot, bool graceful) {
  Conn& c = conns_[slot];
  if (!(c.flags & kOpen) || (c.flags & kClosing)) return;
  if (c.flags & kConnecting) {
    // Not connected yet: no on_close; on_connected reports -ECANCELED once
    // the kernel lets go of the slot.
    c.flags |= kClosing;
    timers_.cancel(&c.timer);
    if (c.flags & kConnectSent) {
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_cancel64(sqe, encode_user_data(Op::connect, slot, c.generation), 0);
      io_uring_sqe_set_data64(sqe, encode_user_data(Op::cancel, slot, c.generation));
      ++c.pending;
    }
    connect_progress(slot);
    return;
  }
  c.flags |= kClosing;
  if (graceful) c.flags |= kGraceful;
  timers_.schedule(&c.timer, now_ms_ + opts_.close_timeout_ms);
  handler_->on_close(*this, slot);
  if (!graceful) {
    abort_io(slot);
  } else if (c.flags & kPaused) {
    // Reading was paused for backpressure; the peer's FIN must be seen now.
    c.flags &= uint16_t(~kPaused);
    if (!(c.flags & kRecvArmed)) rearm_.push_back(slot);
  }
  if (!(c.flags & kDirty)) {
    c.flags |= kDirty;
    dirty_.push_back(slot);
  }
  maybe_release(slot);
}

void Reactor::maybe_release(uint32_t slot) {
  Conn& c = conns_[slot];
  if (!(c.flags & kOpen) || !(c.flags & kClosing)) return;
  if (c.flags & kConnecting) {
    connect_progress(slot);
    return;
  }
  if ((c.flags & kGraceful) && !(c.flags & kShutdownSent)) {
    if (c.flags & kSendInFlight || !c.out.empty()) return;  // still sending
    // All output is out: send our FIN and keep reading until the peer's.
    c.flags |= kShutdownSent;
    submit_shutdown(slot, SHUT_WR);
    return;
  }
  if ((c.flags & kGraceful) && (c.flags & kRecvArmed)) return;  // waiting for the peer's FIN
  if (c.pending != 0) return;

  timers_.cancel(&c.timer);
  c.out.clear(pool_);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::close, slot, c.generation));
  const bool outbound = c.flags & kOutbound;
  c.flags = 0;
  c.generation = (c.generation + 1) & kGenerationMask;
  if (outbound) {
    --outbound_count_;  // the slot is reusable once the close completes (Op::close)
    return;
  }
  --open_count_;
  if (accept_stalled_ && !stopping_) {
    accept_stalled_ = false;
    for (uint32_t i = 0; i < kAcceptSlots; ++i) arm_accept(i);
  }
}

bool Reactor::connect(const sockaddr* addr, socklen_t len, uint64_t tag, uint32_t* slot_out) {
  if (!running_ || stopping_ || outbound_free_.empty() || addr == nullptr) return false;
  if (addr->sa_family == AF_INET) {
    if (len < socklen_t(sizeof(sockaddr_in))) return false;
    len = sizeof(sockaddr_in);
  } else if (addr->sa_family == AF_INET6) {
    if (len < socklen_t(sizeof(sockaddr_in6))) return false;
    len = sizeof(sockaddr_in6);
  } else {
    return false;
  }
  const uint32_t slot = outbound_free_.back();
  outbound_free_.pop_back();
  Conn& c = conns_[slot];
  assert(c.flags == 0 && c.pending == 0);
  c.flags = kOpen | kOutbound | kConnecting;
  c.out_limit = 1u << 20;
  // The kernel reads the address when the connect is issued, a turn from
  // now: it is kept in the slot (peer() is then the address connected to).
  std::memset(&c.peer, 0, sizeof(c.peer));
  std::memcpy(&c.peer, addr, len);
  Outbound& o = outbound_[slot - outbound_base_];
  o.tag = tag;
  o.result = 0;
  o.addr_len = len;
  ++outbound_count_;

  io_uring_sqe* sqe = ring_.sqe();
  // No SOCK_CLOEXEC/SOCK_NONBLOCK: a direct descriptor is in no fd table,
  // and io_uring never blocks on it.
  io_uring_prep_socket_direct(sqe, addr->sa_family, SOCK_STREAM, IPPROTO_TCP, slot, 0);
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::socket, slot, c.generation));
  ++c.pending;
  if (slot_out) *slot_out = slot;
  return true;
}

void Reactor::on_socket(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  --c.pending;
  Outbound& o = outbound_[slot - outbound_base_];
  if (res < 0) {
    if (o.result == 0) o.result = res;
  } else if (!(c.flags & kClosing)) {
    io_uring_sqe* sqe = ring_.sqe();
    prep_nodelay(sqe, int(slot));
    io_uring_sqe_set_data64(sqe, encode_user_data(Op::sockopt, slot, c.generation));
    ++c.pending;
    sqe = ring_.sqe();
    io_uring_prep_connect(sqe, int(slot), reinterpret_cast<const sockaddr*>(&c.peer), o.addr_len);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, encode_user_data(Op::connect, slot, c.generation));
    ++c.pending;
    c.flags |= kConnectSent;
  }
  connect_progress(slot);
}

void Reactor::on_connect(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  --c.pending;
  c.flags &= uint16_t(~kConnectSent);
  Outbound& o = outbound_[slot - outbound_base_];
  if (res < 0 && o.result == 0) o.result = res;
  connect_progress(slot);
}

void Reactor::connect_progress(uint32_t slot) {
  Conn& c = conns_[slot];
  if (c.pending != 0) return;  // the socket, connect, sockopt or cancel is still out
  const Outbound& o = outbound_[slot - outbound_base_];
  if (c.flags & kClosing) {
    finish_connect(slot, -ECANCELED);
  } else if (o.result < 0) {
    finish_connect(slot, o.result);
  } else {
    c.flags &= uint16_t(~kConnecting);
    if (!(c.flags & kPaused)) arm_recv(slot);
    if (!c.out.empty() && !(c.flags & kDirty)) {
      c.flags |= kDirty;
      dirty_.push_back(slot);
    }
    handler_->on_connected(*this, slot, 0, o.tag);
  }
}

void Reactor::finish_connect(uint32_t slot, int res) {
  Conn& c = conns_[slot];
  Outbound& o = outbound_[slot - outbound_base_];
  const uint64_t tag = o.tag;
  o = Outbound{};
  timers_.cancel(&c.timer);
  c.out.clear(pool_);
  // Also when the socket was never made: the close then fails with EBADF,
  // and its completion is what frees the slot either way.
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, encode_user_data(Op::close, slot, c.generation));
  c.flags = 0;
  c.generation = (c.generation + 1) & kGenerationMask;
  --outbound_count_;
  handler_->on_connected(*this, slot, res, tag);
}

void Reactor::abort_outbound() {
  outbound_aborted_ = true;
  for (uint32_t s = outbound_base_; s < conns_.size(); ++s) {
    Conn& c = conns_[s];
    if (!(c.flags & kOpen)) continue;
    if (!(c.flags & kClosing)) {
      close(s, false);
    } else if ((c.flags & kGraceful) && !(c.flags & kConnecting)) {
      abort_io(s);  // do not wait close_timeout_ms for the server's FIN
      maybe_release(s);
    }
  }
}

void Reactor::begin_stop() {
  stopping_ = true;
  stop_deadline_ms_ = now_ms_ + opts_.shutdown_timeout_ms;
  // Wakes the pending accepts (they complete with an error and are not
  // re-armed); the kernel stops routing new connections to this listener.
  if (opts_.listen_fd >= 0) {
    ::shutdown(opts_.listen_fd, SHUT_RDWR);
  }
  handler_->on_stop(*this);
}

}  // namespace ringcast::core
