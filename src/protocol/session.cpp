#include "protocol/session.hpp"

#include <cstring>

namespace ringcast::protocol {

bool Spill::append(const uint8_t* p, size_t n) {
  if (n == 0) return true;
  const size_t need = size_t(size) + n;
  if (need > UINT32_MAX) return false;
  if (need + kSpillPadding > capacity) {
    size_t cap = capacity ? capacity : 256;
    while (cap < need + kSpillPadding) cap *= 2;
    if (cap > UINT32_MAX) cap = UINT32_MAX;
    auto* grown = static_cast<uint8_t*>(std::realloc(data, cap));
    if (!grown) return false;
    data = grown;
    capacity = uint32_t(cap);
  }
  std::memcpy(data + size, p, n);
  size = uint32_t(need);
  return true;
}

void Spill::drop_front(size_t n) {
  if (n >= size) {
    size = 0;
    return;
  }
  std::memmove(data, data + n, size - n);
  size -= uint32_t(n);
}

}  // namespace ringcast::protocol
