// Endpoint profiles: what an endpoint says when a connection opens and when
// a whole message arrives. Each profile speaks one seed's message format.
#pragma once

#include <cstdint>
#include <span>

#include "core/reactor.hpp"
#include "ringcast/config.hpp"
#include "ws/opcode.hpp"

namespace ringcast::protocol {

class Gateway;

void profile_open(Gateway& g, core::Reactor& r, uint32_t slot, Protocol protocol);
void profile_message(Gateway& g, core::Reactor& r, uint32_t slot, Protocol protocol, ws::Opcode op,
                     std::span<const uint8_t> message);

}  // namespace ringcast::protocol
