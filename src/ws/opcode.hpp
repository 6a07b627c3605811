// WebSocket frame opcodes (RFC 6455 section 5.2).
#pragma once

#include <cstdint>

namespace ringcast::ws {

// Values 0x3-0x7 and 0xB-0xF are reserved; the parser rejects them with 1002
// before they could ever be cast to this type.
enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Control frames are the ones with the high opcode bit set (RFC 6455 5.5).
constexpr bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

}  // namespace ringcast::ws
