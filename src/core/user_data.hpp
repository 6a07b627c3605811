// The one place that decides what an io_uring user_data word means.
// Layout: op (8 bits) | generation (24 bits) | slot (32 bits). A completion
// whose generation no longer matches its slot belongs to a connection that
// was closed and reused; it is recognised, never dereferenced.
#pragma once

#include <cstdint>

namespace ringcast::core {

enum class Op : uint8_t {
  accept = 1,    // slot = accept slot index
  recv,          // multishot recv on a connection
  send,          // sendmsg of a connection's queued output
  shutdown,      // shutdown(SHUT_WR) of a connection
  close,         // close of a connection's direct descriptor
  wake,          // eventfd read: another thread wants the reactor's attention
  cancel,        // cancel of a connection's recv (or of an outbound connect)
  socket,        // socket creation of an outbound connection, into its slot
  connect,       // connect of an outbound connection's direct descriptor
  sockopt,       // TCP_NODELAY on an outbound connection (URING_CMD, Linux 6.7+)
};

constexpr uint32_t kGenerationMask = 0xFFFFFF;

constexpr uint64_t encode_user_data(Op op, uint32_t slot, uint32_t generation) {
  return (uint64_t(op) << 56) | (uint64_t(generation & kGenerationMask) << 32) | slot;
}
constexpr Op user_data_op(uint64_t ud) { return Op(ud >> 56); }
constexpr uint32_t user_data_generation(uint64_t ud) { return uint32_t(ud >> 32) & kGenerationMask; }
constexpr uint32_t user_data_slot(uint64_t ud) { return uint32_t(ud); }

}  // namespace ringcast::core
