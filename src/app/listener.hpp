// Listening sockets: one per reactor on the same address with SO_REUSEPORT,
// so the kernel spreads new connections across reactors without a shared
// accept queue.
#pragma once

#include <cstdint>
#include <string>

namespace ringcast::app {

// Returns a listening fd, or -1 with err set. TCP_NODELAY is set on the
// listener so accepted sockets inherit it (they are io_uring direct
// descriptors, which setsockopt cannot reach).
int open_listener(const std::string& host, uint16_t port, std::string& err);

// The port a socket is bound to.
uint16_t bound_port(int fd);

}  // namespace ringcast::app
