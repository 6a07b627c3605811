// The JWS algorithms ringcast verifies (RFC 7518 section 3, RFC 8037) and the
// kind of key each needs. Anything else, "none" included, is unsupported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcast::auth {

enum class Alg : uint8_t { HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, EdDSA };
inline constexpr size_t kAlgCount = 9;

// The kind of key an alg needs; a key of one kind never verifies another
// kind's alg (an RSA public key is never an HMAC secret).
enum class KeyKind : uint8_t { hmac, rsa, ec, okp };

// A set of algs, one bit each.
using AlgSet = uint16_t;
constexpr AlgSet alg_bit(Alg a) { return static_cast<AlgSet>(1u << static_cast<unsigned>(a)); }
inline constexpr AlgSet kHmacAlgs = alg_bit(Alg::HS256) | alg_bit(Alg::HS384) | alg_bit(Alg::HS512);
inline constexpr AlgSet kRsaAlgs = alg_bit(Alg::RS256) | alg_bit(Alg::RS384) | alg_bit(Alg::RS512);

constexpr KeyKind key_kind(Alg a) {
  switch (a) {
    case Alg::HS256: case Alg::HS384: case Alg::HS512: return KeyKind::hmac;
    case Alg::RS256: case Alg::RS384: case Alg::RS512: return KeyKind::rsa;
    case Alg::ES256: case Alg::ES384: return KeyKind::ec;
    case Alg::EdDSA: return KeyKind::okp;
  }
  return KeyKind::hmac;
}

// The registered name, exactly as in a JWS header ("HS256", ..., "EdDSA").
constexpr std::string_view alg_name(Alg a) {
  constexpr std::string_view kNames[kAlgCount] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                                  "RS512", "ES256", "ES384", "EdDSA"};
  return kNames[static_cast<size_t>(a)];
}

// Case-sensitive, as RFC 7515 says; false for "none" and every other name.
constexpr bool parse_alg(std::string_view name, Alg* out) {
  for (size_t i = 0; i < kAlgCount; ++i) {
    if (alg_name(static_cast<Alg>(i)) == name) {
      *out = static_cast<Alg>(i);
      return true;
    }
  }
  return false;
}

}  // namespace ringcast::auth
