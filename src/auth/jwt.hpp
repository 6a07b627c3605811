// JWT verification (RFC 7519 over RFC 7515 compact JWS) for the WebSocket
// upgrade: a token in, an Identity or an AuthError out.
//
// Pure code: no sockets, no clock (`now_s` is a parameter), no exceptions;
// errors are values. A Verifier is built once from AuthConfig (keys are
// loaded and checked then) and is immutable afterwards, so one instance is
// shared by every reactor thread.
//
// What verify() accepts, in the order it checks (the first failure wins):
//  1. size: over cfg.max_token_bytes -> too_large (before anything else);
//     empty -> missing.
//  2. shape: exactly two dots (header.payload.signature) -> else malformed.
//     Every segment must be strict base64url without padding (RFC 7515
//     appendix C: no '=', no '+' '/', no whitespace, no stray low bits) ->
//     else malformed; the header is decoded first, the payload and the
//     signature at step 5.
//  3. header: a JSON object with `alg` a string, `kid` a string when present,
//     no `crit` (no extension is understood), no repeated alg/kid -> else
//     malformed. An alg other than HS256 HS384 HS512 RS256 RS384 RS512 ES256
//     ES384 EdDSA ("none" included) -> unsupported_alg. Keys embedded in the
//     header (jwk, jku, x5c, x5u) are never used.
//  4. key: with a `kid`, the key with that kid (config keys and the JWKS
//     file); without, every config key without kid. Only keys whose alg is
//     the token's alg take part (a kid whose key has another alg counts as
//     no key); none -> unknown_key. An HMAC secret never checks an
//     RS/ES/EdDSA token and a public key never an HS* one.
//  5. signature: HMAC compared in constant time; RSASSA-PKCS1-v1_5; ECDSA
//     as JWS R||S of exactly 64 (ES256) / 96 (ES384) bytes; EdDSA (Ed25519,
//     Ed448). Invalid under every candidate key -> bad_signature. Only then
//     is the payload parsed (not a JSON object -> malformed).
//  6. claims (a repeated exp, nbf, iss, aud or identity claim -> malformed):
//     exp and nbf are numbers (integer or not) when present, else malformed;
//     require_exp and no exp -> missing_claim; now > exp + leeway -> expired;
//     now + leeway < nbf -> not_yet_valid. When cfg.issuer is set: iss absent
//     -> missing_claim, not a string -> malformed, different ->
//     wrong_issuer. When cfg.audience is set: aud absent -> missing_claim, a
//     string or an array of strings (else malformed) that does not hold it ->
//     wrong_audience. Unset issuer/audience: iss/aud are not looked at.
//     Then user_claim absent, not a string or "" -> missing_claim;
//     tenant/agent claims present but not strings -> malformed; channels
//     claim present but not an array of strings -> malformed.
//
// Cost: the crypto dominates (bench/micro/jwt_bench.cpp); a warm verify()
// allocates only the Identity's strings (per-thread parser and buffers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringcast/config.hpp"

namespace ringcast::auth {

enum class AuthError : uint8_t {
  none,
  missing,          // no token at all
  malformed,        // not a compact JWS / JSON, or a claim of the wrong type
  unsupported_alg,  // alg none, unknown, or not one ringcast verifies
  unknown_key,      // no configured key for this kid / alg
  bad_signature,
  expired,
  not_yet_valid,
  wrong_issuer,
  wrong_audience,
  too_large,        // longer than cfg.max_token_bytes
  missing_claim,    // exp (require_exp), iss/aud (when checked) or the user claim
};

// A short reason for a 401 body / log line, e.g. "token expired"; never says
// anything about keys (unknown_key and bad_signature read the same).
std::string_view reason(AuthError e);

struct Identity {
  std::string user_id, tenant_id, agent_id;  // from the configured claims; "" if absent (sub absent -> missing_claim)
  std::vector<std::string> channels;          // the channels claim: names or "prefix*" patterns ("*" = any)
  bool any_channel = true;                    // true when the channels claim is absent
  int64_t exp = 0;                            // seconds since epoch (rounded down, at most kMaxExp); 0 = no exp
};

// The latest exp an Identity reports (9999-12-31T23:59:59Z): a token may say
// 1e300, and exp * 1000 + leeway must still fit an int64 in milliseconds.
inline constexpr int64_t kMaxExp = 253402300799;

// Channel permission: any_channel, or an exact name, or a "prefix*" pattern
// matching (only a trailing '*' is a wildcard; "*" matches every channel).
bool channel_allowed(const Identity& id, std::string_view channel);

class Verifier {  // immutable once made; verify() is thread-safe (called from several reactor threads at once)
 public:
  // Loads keys (secrets, PEM files, the JWKS file). nullptr and *error set
  // (naming the key/file, e.g. "key #2 (kid \"a\"): /etc/k.pem: ES256 needs an
  // EC key on P-256, this is not one") on failure. No key at all is not a
  // failure (a server without JWT endpoints); such a Verifier refuses every
  // token (unknown_key), so check key_count() where JWT is required.
  static std::unique_ptr<Verifier> create(const AuthConfig& cfg, std::string* error);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // AuthError::none and *out filled (out may be nullptr) if `token` is valid
  // at now_s; otherwise the first failure (see the top of this file) and
  // *out untouched. Never reads outside `token`.
  AuthError verify(std::string_view token, int64_t now_s, Identity* out) const;

  // Keys loaded (config keys + usable JWKS keys), for the start-up log.
  size_t key_count() const;

 private:
  struct State;
  explicit Verifier(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ringcast::auth
