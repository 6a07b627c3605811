#include "protocol/json_escape.hpp"

#include <cstring>

namespace ringcast::protocol {

namespace {

// 0 = copy, 1 = two-byte escape, 5 = \u00XX (six bytes: five extra).
constexpr uint8_t kExtra[256] = {
    5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5,  // \b \t \n \f \r short
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // '"'
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,  // '\\'
};

}  // namespace

size_t json_escaped_size(const uint8_t* s, size_t n) {
  size_t size = n;
  for (size_t i = 0; i < n; ++i) size += kExtra[s[i]];
  return size;
}

uint8_t* json_escape(uint8_t* out, const uint8_t* s, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run = 0;  // bytes copied in bulk between escapes
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = s[i];
    if (kExtra[c] == 0) continue;
    std::memcpy(out, s + run, i - run);
    out += i - run;
    run = i + 1;
    *out++ = '\\';
    switch (c) {
      case '"': *out++ = '"'; break;
      case '\\': *out++ = '\\'; break;
      case '\b': *out++ = 'b'; break;
      case '\t': *out++ = 't'; break;
      case '\n': *out++ = 'n'; break;
      case '\f': *out++ = 'f'; break;
      case '\r': *out++ = 'r'; break;
      default:
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = kHex[c >> 4];
        *out++ = kHex[c & 15];
    }
  }
  std::memcpy(out, s + run, n - run);
  return out + (n - run);
}

}  // namespace ringcast::protocol
