// RFC 6455 frame headers and close payloads, written into caller memory.
// The writer never touches payload bytes: a client-side caller masks the
// payload itself with apply_mask(payload, len, mask_key, 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ws/opcode.hpp"

namespace ringcast::ws {

// 2 bytes + 8-byte extended length + 4-byte mask key.
constexpr size_t kMaxFrameHeader = 14;
// Control frame payloads are at most 125 bytes (RFC 6455 5.5); a close
// payload is a 2-byte code plus a reason of at most 123 bytes.
constexpr size_t kMaxControlPayload = 125;
constexpr size_t kMaxCloseReason = kMaxControlPayload - 2;

// Header size for a payload of payload_len bytes, always the minimal length
// encoding: 7-bit up to 125, 16-bit up to 65535, 64-bit beyond.
size_t frame_header_size(uint64_t payload_len, bool masked);

// Writes the header (2..14 bytes, == frame_header_size) to out, which must
// have kMaxFrameHeader bytes of room; returns its size.
// mask_key: null = unmasked (server frames), else the 4 key bytes to put on the
// wire (client frames). rsv_bits: RSV1..3 in their byte-0 position (0x40 is
// RSV1, as used by permessage-deflate), other bits ignored. payload_len must
// be < 2^63 (RFC 6455 5.2).
size_t write_frame_header(uint8_t* out, Opcode op, uint64_t payload_len, bool fin = true,
                          const uint8_t* mask_key = nullptr, uint8_t rsv_bits = 0);

// Close frame payload: 2-byte code in network order + reason truncated to at
// most kMaxCloseReason bytes, cut back to a code point boundary so a valid
// UTF-8 reason stays valid. out must have kMaxControlPayload bytes of room.
// Returns the bytes written (2..125).
size_t write_close_payload(uint8_t* out, uint16_t code, std::string_view reason);

}  // namespace ringcast::ws
