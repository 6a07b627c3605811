// One thread's connections on one io_uring: connect, upgrade, frame, close.
//
// The engine owns the sockets and the I/O; a mode owns what the messages
// mean, through EngineHandler. Per connection there is at most one send in
// flight and one multishot recv armed. Receive memory comes from a provided
// buffer ring shared by the thread's connections (buf_ring.hpp). Sends are
// double-buffered: a mode appends frames to the staging buffer while the
// other one is on the wire, and every connection with new frames is flushed
// once per poll() just before the single submit (Redis-style write batching).
// All memory is allocated in init(); nothing is allocated per message.
//
// Lifetime ("close now, free later"): a Conn slot is never freed during a
// run. finish() shuts the socket down, closes it and bumps the slot's
// generation; every completion carries the generation it was issued under,
// so a late completion for a finished connection is recognised and dropped
// (its receive buffer recycled), never applied to whatever uses the slot now.
// Before the ring goes away, shutdown() waits for every operation to
// complete, so the kernel never writes into freed buffers.
//
// Re-entrancy: handler callbacks run inside poll(). They may stage frames,
// close() or abort() any connection, but must not start() a slot: a slot
// being reused while its own completion is being handled would reset the
// frame reader under the caller. Modes queue restarts and start them after
// poll() returns.
#pragma once

#include "buf_ring.hpp"
#include "clock.hpp"
#include "engine_stats.hpp"
#include "live.hpp"
#include "target.hpp"
#include "ws_frames.hpp"

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace load {

enum class ConnState : uint8_t { free, connecting, handshake, open, closing, done };

// How a connection ended, as told to EngineHandler::on_closed().
enum class EndKind : uint8_t {
  clean,          // we started the close, it completed: close frames both ways (raw: EOF) then EOF
  server_closed,  // the server sent a close frame first; we answered and it completed
  unclean,        // we started the close, the server did not finish it (EOF, reset or abort)
  failed,         // connect, handshake, protocol or transport failure, or abort()
};

struct Conn {
  int fd = -1;
  uint32_t gen = 0;
  uint32_t index = 0;
  ConnState state = ConnState::free;
  bool send_busy = false;
  bool recv_armed = false;
  bool close_sent = false;
  bool close_received = false;
  bool server_initiated = false;
  bool shut_wr = false;
  bool dirty = false;
  uint8_t active = 0;  // staging buffer on the wire; the other one fills
  uint8_t pongs = 0;   // pongs in the filling buffer
  int32_t slot = -1;   // handshake slot while connecting
  uint16_t close_code = 0;
  uint32_t slen[2] = {};
  uint32_t soff = 0;
  uint32_t room = 0;  // data bytes a staging buffer takes; control frames go beyond
  uint8_t* sbuf[2] = {};
  uint64_t t_start = 0;  // connect submitted
  uint64_t t_connected = 0;  // TCP connect completed
  uint64_t t_open = 0;   // upgrade (raw: TCP connect) completed
  ws::ServerFrameReader reader;
};

class EngineHandler {
 public:
  virtual ~EngineHandler() = default;
  virtual void on_open(Conn& c) = 0;
  virtual void on_message_begin(Conn&, uint8_t /*opcode*/) {}
  // Payload bytes in order; `last` ends the message. Raw mode: every received
  // chunk, `last` always false.
  virtual void on_data(Conn& c, const uint8_t* p, size_t n, bool last) = 0;
  // The server sent a close frame while we had not; the engine answers it.
  virtual void on_server_close(Conn&, uint16_t /*code*/) {}
  // A send finished and the staging buffer has room again.
  virtual void on_writable(Conn&) {}
  // The connection is over (fd closed). `why` is set unless kind == clean.
  virtual void on_closed(Conn& c, EndKind kind, const char* why) = 0;
};

struct EngineConfig {
  const Target* target = nullptr;
  bool raw = false;                 // plain TCP: no handshake, no framing
  uint32_t connections = 0;         // slots
  uint32_t stage_bytes = 1024;      // data room per staging buffer (two per connection)
  std::vector<uint32_t> stage_bytes_per_conn;  // if not empty: room per connection instead
  uint32_t max_connecting = 256;    // handshakes in progress at once
  uint32_t recv_buf_size = 16384;   // provided buffer size
  uint32_t recv_bufs = 0;           // provided buffers; 0 = from `connections`
  bool spread_sources = false;      // bind each socket to 127.0.0.X first
  uint32_t source_offset = 0;       // global index of slot 0, picks X
};

class Engine {
 public:
  // Room kept in every staging buffer beyond stage_bytes for control frames:
  // kMaxPongs pongs and one close frame, each at most 6 + 125 bytes.
  static constexpr uint32_t kMaxPongs = 2;
  static constexpr uint32_t kControlRoom = (kMaxPongs + 1) * (6 + ws::kMaxControlPayload);

  Engine(const EngineConfig& cfg, EngineHandler& h, Live& live);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Ring, buffers, slots. Empty string on success. `ring_mode` names the
  // setup flags the kernel accepted.
  std::string init();
  const char* ring_mode() const { return ring_mode_; }

  // Starts connecting slot i (state free or done). False if no handshake slot
  // is free (can_start()) or the socket could not be made (then on_closed has
  // already been called with kind failed).
  bool can_start() const { return cfg_.raw || !free_slots_.empty(); }
  bool start(uint32_t i);

  // Staging. begin_message() reserves room for one message of n payload
  // bytes and writes its frame header (none in raw mode); it returns where
  // the payload goes, or nullptr when the staging buffer is full. Write the
  // plain payload there, then commit_message() masks it and commits. No
  // other staging call in between.
  uint8_t* begin_message(Conn& c, uint8_t opcode, size_t n);
  void commit_message(Conn& c, uint8_t* payload, size_t n);
  bool send_message(Conn& c, uint8_t opcode, const void* p, size_t n);
  size_t stage_room(const Conn& c) const;

  // WebSocket: send close `code` and wait for the server's close and EOF.
  // Raw: shut the write side once staged bytes are out, wait for EOF.
  void close(Conn& c, uint16_t code = 1000);
  // Drop at once; on_closed(kind) follows. Counts nothing itself.
  void abort(Conn& c, EndKind kind, const char* why);

  // Flushes, submits, waits up to wait_ns for completions and handles them.
  // Returns false if io_uring itself failed (stats.first_error says why).
  bool poll(uint64_t wait_ns);
  // Aborts whatever is still connected (kind unclean) and waits, up to
  // 2 seconds, until the kernel holds no operation of ours.
  void shutdown();

  Conn& conn(uint32_t i) { return conns_[i]; }
  uint32_t size() const { return uint32_t(conns_.size()); }
  uint32_t live_count() const { return live_; }  // connecting, handshake, open or closing
  uint64_t now() const { return now_; }
  void set_now(uint64_t t) { now_ = t; }

  EngineStats stats;

 private:
  struct Slot;
  struct Sink;
  enum Op : uint8_t { kConnect = 1, kSend, kRecv, kRequest };

  io_uring_sqe* sqe();
  void flush(Conn& c);
  void arm_recv(Conn& c);
  void send_request(Conn& c);
  void handle(io_uring_cqe* cqe);
  void on_connect(Conn& c, int res);
  void on_send(Conn& c, int res);
  void on_request_sent(Conn& c, int res);
  void on_recv(Conn& c, int res, const uint8_t* data, bool more);
  void on_handshake_bytes(Conn& c, const uint8_t* p, size_t n);
  void feed(Conn& c, const uint8_t* p, size_t n);
  void on_eof(Conn& c);
  void on_server_close(Conn& c, uint16_t code);
  void queue_control(Conn& c, uint8_t opcode, const uint8_t* p, size_t n);
  void maybe_shut_write(Conn& c);
  void fail(Conn& c, uint64_t EngineStats::*counter, const char* why);
  void finish(Conn& c, EndKind kind, const char* why);
  void note_error(const Conn& c, const char* why);
  static uint64_t encode(const Conn& c, Op op);

  EngineConfig cfg_;
  EngineHandler& h_;
  Live& livec_;
  io_uring ring_{};
  bool ring_ok_ = false;
  const char* ring_mode_ = "none";
  BufRing bufs_;
  std::vector<Conn> conns_;
  std::unique_ptr<uint8_t[]> stage_mem_;
  std::unique_ptr<Slot[]> slots_;
  std::vector<int32_t> free_slots_;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> rearm_;
  Rng rng_;
  uint64_t now_ = 0;
  uint64_t ops_ = 0;   // operations the kernel holds (multishot recv counts once)
  uint32_t live_ = 0;
  uint8_t* pending_payload_ = nullptr;  // between begin_message and commit_message
  uint32_t pending_key_ = 0;
};

}  // namespace load
