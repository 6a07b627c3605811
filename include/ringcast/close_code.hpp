// Close codes ringcast sends in a WebSocket close frame (RFC 6455 section 7.4.1).
//
// Only codes we put on the wire are listed. Which codes a peer may send us is a
// different question, answered by ws::close_code_valid (src/ws/close_code.hpp).
// 1004, 1005, 1006 and 1015 are reserved and never sent on the wire, so they
// are deliberately absent.
#pragma once

#include <cstdint>

namespace ringcast {

enum class CloseCode : uint16_t {
  // The purpose of the connection has been fulfilled (e.g. the client said goodbye).
  normal = 1000,
  // The server is shutting down (graceful stop) or the client is being moved;
  // clients should reconnect, after reconnect_delay_ms if one was announced.
  going_away = 1001,
  // The peer broke RFC 6455 framing: bad masking, reserved opcode or RSV bits,
  // oversized or fragmented control frame, bad close frame.
  protocol_error = 1002,
  // A message type we do not accept (e.g. binary where only text is spoken).
  unsupported_data = 1003,
  // A text message or close reason that is not valid UTF-8.
  invalid_payload = 1007,
  // A message that breaks a policy not covered by a more specific code
  // (auth failure after upgrade, rate limit exceeded, forbidden action).
  policy_violation = 1008,
  // A message larger than the configured maximum message size.
  message_too_big = 1009,
  // An internal failure on our side; the client did nothing wrong.
  internal_error = 1011,
  // Overload: the client should retry later (output queue full, shedding load).
  try_again_later = 1013,
  // IANA-registered "Unauthorized": the connection's token expired (and was
  // not refreshed), or its credentials were revoked.
  unauthorized = 3000,
};

constexpr uint16_t to_wire(CloseCode code) { return static_cast<uint16_t>(code); }

}  // namespace ringcast
