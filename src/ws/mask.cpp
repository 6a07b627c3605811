#include "ws/mask.hpp"

#include <cstring>

namespace ringcast::ws {

void apply_mask(uint8_t* data, size_t len, const uint8_t key[4], size_t key_offset) {
  // Eight key bytes starting at key_offset: since 8 is a multiple of 4 the
  // same word lines up with every 8-byte block, so the body needs no
  // per-byte key index. memcpy keeps unaligned access defined; g++ turns the
  // loop into vector loads/xors.
  uint8_t rotated[8];
  for (size_t j = 0; j < 8; ++j) rotated[j] = key[(key_offset + j) & 3];
  uint64_t k;
  std::memcpy(&k, rotated, sizeof k);

  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, sizeof w);
    w ^= k;
    std::memcpy(data + i, &w, sizeof w);
  }
  for (; i < len; ++i) data[i] ^= rotated[i & 7];
}

}  // namespace ringcast::ws
