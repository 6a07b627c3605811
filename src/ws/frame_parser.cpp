#include "ws/frame_parser.hpp"

#include <cstring>

#include "ws/close_code.hpp"

namespace ringcast::ws {
namespace detail {

namespace {

bool known_opcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

}  // namespace

HeaderStatus decode_header(const uint8_t* p, size_t n, const ParserConfig& cfg, bool in_message,
                           uint64_t message_bytes, FrameHeader& h, uint16_t& close_code) {
  close_code = 1002;
  if (n < 1) return HeaderStatus::need_more;
  const uint8_t b0 = p[0];
  h.fin = (b0 & 0x80) != 0;
  h.rsv = b0 & 0x70;
  h.opcode = b0 & 0x0F;
  if ((h.rsv & ~cfg.allowed_rsv) != 0) return HeaderStatus::error;
  if (!known_opcode(h.opcode)) return HeaderStatus::error;
  const bool control = (h.opcode & 0x8) != 0;
  if (control) {
    if (!h.fin) return HeaderStatus::error;
  } else if ((h.opcode == 0) != in_message) {
    // A continuation needs a message to continue; a new message must wait
    // for the fragmented one to finish (controls may interleave, data not).
    return HeaderStatus::error;
  }

  if (n < 2) return HeaderStatus::need_more;
  const uint8_t b1 = p[1];
  const bool masked = (b1 & 0x80) != 0;
  if (masked != cfg.expect_masked) return HeaderStatus::error;
  const uint8_t len7 = b1 & 0x7F;
  size_t ext = 0;
  uint64_t len = len7;
  if (len7 == 126) ext = 2;
  else if (len7 == 127) ext = 8;
  if (ext != 0) {
    if (n < 2 + ext) return HeaderStatus::need_more;
    len = 0;
    for (size_t i = 0; i < ext; ++i) len = (len << 8) | p[2 + i];
    // Non-minimal encodings are accepted, as browsers and uWS do; only the
    // 64-bit form's top bit is forbidden (RFC 6455 5.2).
    if (len >> 63) return HeaderStatus::error;
  }
  if (control) {
    if (len > kMaxControlPayload) return HeaderStatus::error;
  } else {
    const uint64_t so_far = h.opcode == 0 ? message_bytes : 0;
    // so_far <= max always holds (checked when those bytes were announced),
    // so the subtraction cannot wrap.
    if (len > cfg.max_message_bytes - so_far) {
      close_code = 1009;
      return HeaderStatus::error;
    }
  }
  h.payload_len = len;
  h.size = static_cast<uint8_t>(2 + ext + (masked ? 4 : 0));
  if (n < h.size) return HeaderStatus::need_more;
  if (masked) std::memcpy(h.mask, p + 2 + ext, 4);
  else std::memset(h.mask, 0, 4);
  close_code = 0;
  return HeaderStatus::complete;
}

uint16_t check_close_payload(const uint8_t* p, size_t n) {
  if (n == 0) return 0;  // no status code at all is allowed
  if (n == 1) return 1002;
  const uint16_t code = static_cast<uint16_t>((p[0] << 8) | p[1]);
  if (!close_code_valid(code)) return 1002;
  if (!utf8_valid(p + 2, n - 2)) return 1007;
  return 0;
}

}  // namespace detail

ParseResult FrameParser::terminal_result() const {
  switch (terminal_) {
    case kClosed: return {0, ParseStatus::closed, 0};
    case kFailed1007: return {0, ParseStatus::error, 1007};
    case kFailed1009: return {0, ParseStatus::error, 1009};
    default: return {0, ParseStatus::error, 1002};
  }
}

ParseResult FrameParser::fail(size_t consumed, uint16_t close_code) {
  terminal_ = close_code == 1007 ? kFailed1007 : close_code == 1009 ? kFailed1009 : kFailed1002;
  return {consumed, ParseStatus::error, close_code};
}

}  // namespace ringcast::ws
