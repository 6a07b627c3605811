// A slow UTF-8 checker written straight from RFC 3629 (decode each code
// point, then check its range), used as the oracle for the fast validator in
// unit tests and in fuzz/ws/utf8_fuzz.cpp. Clarity over speed on purpose.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringcast::ws::reference {

// Outcome of decoding p[0..n): valid, invalid, or a valid prefix whose last
// code point is cut short.
enum class Utf8 { valid, invalid, truncated };

inline Utf8 check_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t lead = p[i];
    size_t len;
    uint32_t cp;
    uint32_t min;
    if (lead < 0x80) { len = 1; cp = lead; min = 0; }
    else if ((lead & 0xE0) == 0xC0) { len = 2; cp = lead & 0x1F; min = 0x80; }
    else if ((lead & 0xF0) == 0xE0) { len = 3; cp = lead & 0x0F; min = 0x800; }
    else if ((lead & 0xF8) == 0xF0) { len = 4; cp = lead & 0x07; min = 0x10000; }
    else return Utf8::invalid;  // a stray continuation byte or F8..FF
    const size_t have = n - i < len ? n - i : len;
    for (size_t k = 1; k < have; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return Utf8::invalid;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (have < len) {
      // The code points still reachable form the range [lo, hi] (pad with
      // 80 or BF); the prefix is valid if that range meets a legal value.
      uint32_t lo = cp;
      uint32_t hi = cp;
      for (size_t k = have; k < len; ++k) {
        lo = lo << 6;
        hi = (hi << 6) | 0x3F;
      }
      const uint32_t max = len == 2 ? 0x7FF : len == 3 ? 0xFFFF : 0x10FFFF;
      const uint32_t a = lo > min ? lo : min;
      const uint32_t b = hi < max ? hi : max;
      if (a > b) return Utf8::invalid;
      // Only a range that lies wholly inside the surrogates is impossible.
      if (a >= 0xD800 && b <= 0xDFFF) return Utf8::invalid;
      return Utf8::truncated;
    }
    if (cp < min || cp > 0x10FFFF) return Utf8::invalid;
    if (cp >= 0xD800 && cp <= 0xDFFF) return Utf8::invalid;
    i += len;
  }
  return Utf8::valid;
}

inline bool utf8_valid(const uint8_t* p, size_t n) { return check_utf8(p, n) == Utf8::valid; }
// Could more bytes still make this valid?
inline bool utf8_prefix_ok(const uint8_t* p, size_t n) { return check_utf8(p, n) != Utf8::invalid; }

}  // namespace ringcast::ws::reference
