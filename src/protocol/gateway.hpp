// The gateway: what a reactor's connections mean. It turns bytes into HTTP
// answers, a WebSocket upgrade, frames and messages, and hands each complete
// message to the endpoint's profile (echo, json-echo, ...). One Gateway per
// reactor, called only on that reactor's thread.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "core/reactor.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/session.hpp"
#include "ringcast/close_code.hpp"
#include "ringcast/config.hpp"
#include "ws/opcode.hpp"

namespace ringcast::protocol {

class Gateway final : public core::ConnectionHandler {
 public:
  Gateway(const ServerConfig& server, std::shared_ptr<const EndpointTable> endpoints);

  void on_open(core::Reactor& r, uint32_t slot) override;
  void on_data(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes) override;
  void on_timer(core::Reactor& r, uint32_t slot) override;
  void on_close(core::Reactor& r, uint32_t slot) override;
  void on_reject(core::Reactor& r, uint32_t slot) override;
  void on_stop(core::Reactor& r) override;

  // --- for profiles ---
  // Queues one whole frame with this payload; false if memory ran out (the
  // connection is then closed with 1011).
  bool send_frame(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> payload);
  // Reserves room for a frame of payload_len bytes and writes its header;
  // the caller writes exactly payload_len bytes at the returned pointer, then
  // calls r.out_commit(slot, returned_total).
  uint8_t* begin_frame(core::Reactor& r, uint32_t slot, ws::Opcode op, uint64_t payload_len, size_t* total);
  // Sends a close frame and closes gracefully; later input is ignored.
  void fail(core::Reactor& r, uint32_t slot, CloseCode code, std::string_view reason);

 private:
  struct FrameSink;

  // HTTP phase: request heads until an upgrade; bytes after a 101 (frames
  // pipelined with the request) go straight on to the frame phase.
  void handle_http(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes);
  // Answers one complete head; returns false when the connection is done.
  bool answer_head(core::Reactor& r, uint32_t slot, std::string_view head);
  void reject(core::Reactor& r, uint32_t slot, std::string_view response);

  // Frame phase.
  void handle_frames(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes);
  // Feeds bytes; keeps any unconsumed tail in the session. Returns false
  // when the connection stopped reading (closed or failed).
  bool feed_frames(core::Reactor& r, uint32_t slot, std::span<uint8_t> bytes, size_t* consumed);
  bool on_message_chunk(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> chunk,
                        bool complete);
  bool on_control(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> payload);
  void deliver(core::Reactor& r, uint32_t slot, ws::Opcode op, std::span<const uint8_t> message);
  void schedule_ping(core::Reactor& r, uint32_t slot);

  const ServerConfig& server_;
  std::shared_ptr<const EndpointTable> endpoints_;
  std::vector<Session> sessions_;
};

}  // namespace ringcast::protocol
