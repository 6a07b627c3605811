#include "auth/base64url.hpp"

#include <array>

namespace ringcast::auth {

namespace {

constexpr uint8_t kBad = 0xFF;

constexpr std::array<uint8_t, 256> make_decode_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kBad;
  for (int i = 0; i < 26; ++i) {
    t[static_cast<size_t>('A' + i)] = static_cast<uint8_t>(i);
    t[static_cast<size_t>('a' + i)] = static_cast<uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t[static_cast<size_t>('0' + i)] = static_cast<uint8_t>(52 + i);
  t[static_cast<size_t>('-')] = 62;
  t[static_cast<size_t>('_')] = 63;
  return t;
}

constexpr std::array<uint8_t, 256> kDecode = make_decode_table();
constexpr char kEncode[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

inline uint8_t sextet(char c) { return kDecode[static_cast<uint8_t>(c)]; }

}  // namespace

bool base64url_decode(std::string_view in, uint8_t* out) {
  const size_t n = in.size();
  if (base64url_decoded_size(n) == kBase64urlInvalidLength) return false;
  const char* p = in.data();
  size_t i = 0;
  // Whole quanta: 4 characters -> 3 bytes. A kBad sextet sets bit 7 or 6 of
  // the OR, which no valid sextet does.
  for (; i + 4 <= n; i += 4, p += 4, out += 3) {
    const uint8_t a = sextet(p[0]), b = sextet(p[1]), c = sextet(p[2]), d = sextet(p[3]);
    if ((a | b | c | d) & 0xC0) return false;
    const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
    out[0] = static_cast<uint8_t>(v >> 16);
    out[1] = static_cast<uint8_t>(v >> 8);
    out[2] = static_cast<uint8_t>(v);
  }
  switch (n - i) {
    case 0:
      return true;
    case 2: {  // 12 bits: one byte, 4 unused bits
      const uint8_t a = sextet(p[0]), b = sextet(p[1]);
      if (((a | b) & 0xC0) || (b & 0x0F)) return false;
      out[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
      return true;
    }
    case 3: {  // 18 bits: two bytes, 2 unused bits
      const uint8_t a = sextet(p[0]), b = sextet(p[1]), c = sextet(p[2]);
      if (((a | b | c) & 0xC0) || (c & 0x03)) return false;
      out[0] = static_cast<uint8_t>((a << 2) | (b >> 4));
      out[1] = static_cast<uint8_t>((b << 4) | (c >> 2));
      return true;
    }
    default:  // 1: refused by the length check above
      return false;
  }
}

void base64url_append(std::string_view bytes, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  out.reserve(out.size() + base64url_encoded_size(n));
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kEncode[v >> 18];
    out += kEncode[(v >> 12) & 63];
    out += kEncode[(v >> 6) & 63];
    out += kEncode[v & 63];
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{p[i]} << 16;
    out += kEncode[v >> 18];
    out += kEncode[(v >> 12) & 63];
  } else if (n - i == 2) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += kEncode[v >> 18];
    out += kEncode[(v >> 12) & 63];
    out += kEncode[(v >> 6) & 63];
  }
}

}  // namespace ringcast::auth
