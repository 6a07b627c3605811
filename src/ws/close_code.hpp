// Which close codes a peer may send (RFC 6455 section 7.4, IANA registry).
#pragma once

#include <cstdint>

#include "ringcast/close_code.hpp"

namespace ringcast::ws {

using ringcast::CloseCode;

// True when a peer may put `code` in a close frame: 1000-1003, 1007-1014
// (defined or registered by IANA), 3000-4999 (libraries and applications).
// 1004-1006 and 1015 are reserved or are pseudo-codes that must never appear
// on the wire; 0-999, 1016-2999 and >= 5000 are unassigned. An invalid code
// fails the connection with 1002.
bool close_code_valid(uint16_t code);

}  // namespace ringcast::ws
