// RFC 6455 section 5.3 payload masking. XOR is its own inverse, so the same
// call masks (client side) and unmasks (server side).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringcast::ws {

// XORs data[0..len) in place with the repeating 4-byte key.
// key: the 4 key bytes in wire order. key_offset: which key byte (0..3; only
// the low 2 bits are used) applies to data[0]; a payload unmasked in pieces
// passes (previous offset + previous len) % 4, so any split gives the same
// result as one call.
void apply_mask(uint8_t* data, size_t len, const uint8_t key[4], size_t key_offset);

}  // namespace ringcast::ws
