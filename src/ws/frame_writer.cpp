#include "ws/frame_writer.hpp"

#include <cstring>

namespace ringcast::ws {

size_t frame_header_size(uint64_t payload_len, bool masked) {
  size_t size = 2;
  if (payload_len > 0xFFFF) size += 8;
  else if (payload_len > 125) size += 2;
  return masked ? size + 4 : size;
}

size_t write_frame_header(uint8_t* out, Opcode op, uint64_t payload_len, bool fin,
                          const uint8_t* mask_key, uint8_t rsv_bits) {
  out[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | (rsv_bits & 0x70) | static_cast<uint8_t>(op));
  const uint8_t mask_bit = mask_key ? 0x80 : 0;
  size_t n = 2;
  if (payload_len <= 125) {
    out[1] = static_cast<uint8_t>(mask_bit | payload_len);
  } else if (payload_len <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<uint8_t>(payload_len >> 8);
    out[3] = static_cast<uint8_t>(payload_len);
    n = 4;
  } else {
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(payload_len >> (56 - 8 * i));
    n = 10;
  }
  if (mask_key) {
    std::memcpy(out + n, mask_key, 4);
    n += 4;
  }
  return n;
}

size_t write_close_payload(uint8_t* out, uint16_t code, std::string_view reason) {
  out[0] = static_cast<uint8_t>(code >> 8);
  out[1] = static_cast<uint8_t>(code);
  size_t len = reason.size();
  if (len > kMaxCloseReason) {
    len = kMaxCloseReason;
    // reason[len] is the first byte dropped; while it is a continuation byte
    // the cut would split a code point, so drop that code point's head too.
    while (len > 0 && (static_cast<uint8_t>(reason[len]) & 0xC0) == 0x80) --len;
  }
  if (len) std::memcpy(out + 2, reason.data(), len);
  return 2 + len;
}

}  // namespace ringcast::ws
