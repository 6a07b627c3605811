// One reactor: a thread, its io_uring, its SO_REUSEPORT listener and every
// connection it accepted, for life. The reactor knows sockets, buffers and
// deadlines, not WebSocket: what bytes mean is the ConnectionHandler's job
// (protocol/), which the reactor calls on its own thread only.
//
// Outbound connections (connect(): the upstream HTTP client) live in the same
// fixed-file table, in slots of their own past the accepted ones:
//   [0, max_connections + kSpareSlots)           accepted (accept allocates here only)
//   [outbound_base(), + max_outbound)            outbound (connect() picks one)
// so neither kind can take the other's slots. Once connected, an outbound
// slot behaves like an accepted one (on_data, output, timer, close, on_close);
// for_each_open does not visit it and on_open/on_reject are never called for it.
//
// Re-entrancy: handler callbacks may call any Reactor method for any of this
// reactor's connections, including close(); a closed connection's slot is
// reused only after every request the kernel holds for it has completed, and
// on_close is the last callback it gets.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/buffer_ring.hpp"
#include "core/out_buffer.hpp"
#include "core/ring.hpp"
#include "core/timer_wheel.hpp"

namespace ringcast::core {

class Reactor;

// 64-bit connection id: reactor index (8 bits) | generation (24) | slot (32).
// Routable from any thread; a stale id (slot reused) is detected by its generation.
using ConnId = uint64_t;

// Fixed-file slots beyond max_connections. A connection accepted while the
// reactor is full still gets a slot, so it can be told so (HTTP 503) instead
// of being reset by the kernel for want of a table entry.
constexpr uint32_t kSpareSlots = 16;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void on_open(Reactor& r, uint32_t slot) = 0;
  // Received bytes, valid only during the call. Writable (parsers unmask in
  // place) and followed by kRecvPadding readable bytes.
  virtual void on_data(Reactor& r, uint32_t slot, std::span<uint8_t> bytes) = 0;
  // The deadline set with Reactor::set_timer passed.
  virtual void on_timer(Reactor& r, uint32_t slot) = 0;
  // The socket is gone (or going): free what the connection holds. Last call.
  virtual void on_close(Reactor& r, uint32_t slot) = 0;
  // Accepted while max_connections are open: answer and close it.
  virtual void on_reject(Reactor& r, uint32_t slot) = 0;
  // A graceful stop began: say goodbye to every connection.
  virtual void on_stop(Reactor& r) = 0;
  // The outcome of Reactor::connect, exactly once per connect() that returned
  // true (never from inside connect()). res 0: connected, the slot is now an
  // open connection (receiving; on_close will be its last call). res < 0:
  // -errno (-ECANCELED if it was closed while connecting), the slot is
  // already released and gets no other call. tag is connect()'s.
  virtual void on_connected(Reactor&, uint32_t /*slot*/, int /*res*/, uint64_t /*tag*/) {}
  // Once per loop turn, before output is flushed: work that arrives other
  // than through a socket (messages from other reactors).
  virtual void on_turn(Reactor&) {}
  // The reactor is about to block for up to wait_ms; returns how long it may
  // (0 = not at all: work is waiting).
  virtual uint64_t before_sleep(Reactor&, uint64_t wait_ms) { return wait_ms; }
};

struct ReactorOptions {
  uint32_t index = 0;
  uint32_t max_connections = 20000;  // served; the table has kSpareSlots more
  uint32_t recv_buffers = 2048;
  uint32_t recv_buffer_bytes = 16384;
  uint32_t close_timeout_ms = 2000;
  uint32_t shutdown_timeout_ms = 5000;
  uint32_t max_outbound = 1024;  // outbound connections open at once (connect())
  int listen_fd = -1;  // bound and listening; the reactor owns it from now on
  int cpu = -1;        // pin to this core, -1 = no pinning
};

class Reactor {
 public:
  Reactor(const ReactorOptions& opts, std::unique_ptr<ConnectionHandler> handler);
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;
  ~Reactor();

  // Runs the loop on the calling thread until a graceful stop completes.
  // Returns an empty string, or why the reactor could not start.
  std::string run(std::atomic<int>& ready_count);

  // Thread-safe: asks the reactor to stop gracefully.
  void request_stop();

  // --- for the handler, on the reactor's thread ---
  uint32_t index() const { return opts_.index; }
  uint64_t now_ms() const { return now_ms_; }
  ConnId conn_id(uint32_t slot) const;
  // True if id names a connection of this reactor that is still the same
  // one (not closed and its slot reused); *slot is then its slot.
  bool owns(ConnId id, uint32_t* slot) const {
    const uint32_t s = uint32_t(id & 0xFFFFFFFFu);
    if (s >= conns_.size() || conn_id(s) != id) return false;
    *slot = s;
    return true;
  }
  // Accepted: the client's address. Outbound: the address connected to.
  const sockaddr_in6& peer(uint32_t slot) const { return conns_[slot].peer; }
  bool stopping() const { return stopping_; }

  // Output: reserve room, write, commit. Sent at the end of this loop turn,
  // together with everything else queued for the connection by then.
  uint8_t* out_reserve(uint32_t slot, size_t n);
  void out_commit(uint32_t slot, size_t n);
  // Queued output above this many bytes stops reading from the socket until
  // it drains to half: a client that sends faster than it reads is slowed by
  // TCP flow control instead of growing server memory.
  void set_output_limit(uint32_t slot, uint32_t bytes) { conns_[slot].out_limit = bytes; }
  uint64_t out_bytes(uint32_t slot) const { return conns_[slot].out.bytes(); }

  // Shared output: a buffer written once (a published frame) and queued on
  // many connections. acquire_buffer gives one reference, each
  // out_append_shared takes another, release_buffer drops the caller's.
  OutBuffer* acquire_buffer(size_t n) { return pool_.acquire(n); }
  void release_buffer(OutBuffer* b) { pool_.unref(b); }
  void out_append_shared(uint32_t slot, OutBuffer* b, uint32_t offset, uint32_t length);

  // Thread-safe: the eventfd whose write wakes this reactor (the mesh doorbell).
  int wake_fd() const { return wake_fd_; }

  void set_timer(uint32_t slot, uint64_t at_ms);
  void cancel_timer(uint32_t slot);

  // graceful: send what is queued, shut down our side, wait (close_timeout)
  // for the peer's FIN, then close. Otherwise: close now, drop the output.
  void close(uint32_t slot, bool graceful);

  // Opens a TCP connection to addr (AF_INET or AF_INET6) without blocking:
  // IORING_OP_SOCKET into a free outbound slot, then IORING_OP_CONNECT on it.
  // Returns false if it could not even start (stopping, every outbound slot
  // in use, bad address); nothing else happens then. Otherwise the handler's
  // on_connected(slot, res, tag) follows once, from the loop. *slot (if
  // given) is the slot at once, so a connect can be bounded in time: while
  // connecting, set_timer/cancel_timer work (on_timer is called as usual),
  // out_reserve/out_commit queue output sent once connected, and close()
  // aborts it: on_connected then reports -ECANCELED (and there is no on_close).
  bool connect(const sockaddr* addr, socklen_t len, uint64_t tag, uint32_t* slot = nullptr);
  // Outbound slots start here; a slot below is an accepted connection.
  uint32_t outbound_base() const { return outbound_base_; }
  bool is_outbound(uint32_t slot) const { return slot >= outbound_base_; }
  uint32_t outbound_count() const { return outbound_count_; }

  // Visits every open accepted connection (never an outbound one).
  template <class F>
  void for_each_open(F&& f) {
    for (uint32_t s = 0; s < outbound_base_; ++s)
      if (conns_[s].flags & kOpen) f(s);
  }

 private:
  enum Flags : uint16_t {
    kOpen = 1 << 0,
    kRecvArmed = 1 << 1,
    kSendInFlight = 1 << 2,
    kDirty = 1 << 3,
    kPaused = 1 << 4,
    kClosing = 1 << 5,
    kGraceful = 1 << 6,
    kShutdownSent = 1 << 7,
    kOutbound = 1 << 8,     // made by connect(), in the outbound range
    kConnecting = 1 << 9,   // socket/connect not done yet: no recv, no send
    kConnectSent = 1 << 10, // the IORING_OP_CONNECT is in flight (cancellable)
  };

  struct SendCtx;

  struct Conn {
    TimerNode timer;
    SendCtx* sending = nullptr;  // the sendmsg in flight, if any
    OutQueue out;
    sockaddr_in6 peer;
    uint32_t generation = 0;
    uint32_t out_limit = 1u << 20;
    uint16_t flags = 0;
    uint8_t pending = 0;  // requests the kernel holds for this slot
  };

  struct SendCtx {
    msghdr msg;
    iovec iov[OutQueue::kMaxIov];
  };

  // Per outbound slot, while connecting (index = slot - outbound_base_).
  struct Outbound {
    uint64_t tag = 0;
    int result = 0;  // the first error of socket/connect, 0 if none yet
    socklen_t addr_len = 0;
  };

  struct AcceptSlot {
    sockaddr_in6 addr;
    socklen_t len;
    bool armed;
  };

  static constexpr uint32_t kAcceptSlots = 16;

  void arm_accept(uint32_t i);
  void arm_recv(uint32_t slot);
  void arm_wake();
  void flush();
  void submit_send(uint32_t slot);
  void maybe_release(uint32_t slot);
  void begin_stop();
  void pause_reading(uint32_t slot);
  void submit_shutdown(uint32_t slot, int how);
  // Ends a connection's I/O now, dropping its output (once no send holds it).
  void abort_io(uint32_t slot);

  void on_accept(uint32_t i, int res);
  void on_recv(uint32_t slot, int res, uint32_t cqe_flags);
  void on_send(uint32_t slot, int res);
  void on_timer_fired(uint32_t slot);

  void on_socket(uint32_t slot, int res);
  void on_connect(uint32_t slot, int res);
  // A connecting slot's request completed: decides what happens next once
  // the kernel holds nothing more for it.
  void connect_progress(uint32_t slot);
  // Releases a slot that never connected and tells the handler why.
  void finish_connect(uint32_t slot, int res);
  void abort_outbound();

  ReactorOptions opts_;
  std::unique_ptr<ConnectionHandler> handler_;
  Ring ring_;
  BufferRing buffers_;
  OutPool pool_;
  TimerWheel timers_;
  std::vector<Conn> conns_;
  std::vector<Outbound> outbound_;
  std::vector<uint32_t> outbound_free_;  // slots whose close completed
  std::vector<std::unique_ptr<SendCtx>> send_ctx_all_;
  std::vector<SendCtx*> send_ctx_free_;  // one per send in flight, not per connection
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> rearm_;
  AcceptSlot accept_[kAcceptSlots];
  uint64_t now_ms_ = 0;
  uint64_t stop_deadline_ms_ = 0;
  uint64_t wake_value_ = 0;
  uint32_t open_count_ = 0;      // accepted connections
  uint32_t outbound_count_ = 0;  // outbound slots in use (connecting, open or closing)
  uint32_t outbound_base_ = 0;
  int wake_fd_ = -1;
  bool accept_stalled_ = false;
  bool stopping_ = false;
  bool running_ = false;
  bool outbound_aborted_ = false;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace ringcast::core
