// base64url (RFC 4648 section 5) as JWS compact serialization uses it: no
// padding, and decoding is strict, so one byte string has exactly one
// encoding (RFC 7515 section 2 and appendix C).
//
// Pure functions over caller-owned buffers: no allocation, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast::auth {

// Bytes that n base64url characters decode to, or kBase64urlInvalidLength
// when no unpadded encoding has n characters (n % 4 == 1).
inline constexpr size_t kBase64urlInvalidLength = static_cast<size_t>(-1);
constexpr size_t base64url_decoded_size(size_t n) {
  return n % 4 == 1 ? kBase64urlInvalidLength : n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

// Characters that n bytes encode to (no padding).
constexpr size_t base64url_encoded_size(size_t n) { return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

// Decodes `in` into out[0, base64url_decoded_size(in.size())). Refuses
// (false; out's contents then unspecified) a length no encoding has, any
// character outside A-Z a-z 0-9 - _ (so '=' padding, '+', '/', whitespace),
// and a last character whose unused low bits are not zero (a second spelling
// of the same bytes). Reads exactly in.size() bytes of input.
bool base64url_decode(std::string_view in, uint8_t* out);

// Appends the base64url encoding of bytes (no padding) to out.
void base64url_append(std::string_view bytes, std::string& out);

}  // namespace ringcast::auth
