// Verification keys: what a token's header may select, loaded once from the
// configuration (HS* secrets, PEM files, a JWKS document) and then only read,
// from any thread.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/alg.hpp"
#include "ringcast/config.hpp"

namespace ringcast::auth {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct Key {
  std::string kid;     // "" = none: selected by alg, for tokens without kid (config keys only)
  AlgSet algs = 0;     // the algs it verifies, all of kind `kind`
  KeyKind kind = KeyKind::hmac;
  std::string secret;  // hmac: the shared secret (wiped on destruction)
  PkeyPtr pkey;        // rsa, ec, okp: the public key, checked against `algs` at load

  Key() = default;
  Key(Key&&) noexcept = default;
  Key& operator=(Key&&) noexcept = default;
  ~Key();
};

// Minimum RSA modulus (RFC 7518 section 3.3: "2048 bits or larger MUST").
inline constexpr int kMinRsaBits = 2048;

// Checks that pkey is the key `alg` needs: RSA of at least kMinRsaBits for
// RS*, EC on P-256 / P-384 for ES256 / ES384, Ed25519 or Ed448 for EdDSA, and
// that it passes OpenSSL's public-key check. "" if so, else why not.
std::string check_public_key(EVP_PKEY* pkey, Alg alg);

// Loads a public key from a PEM file: a SubjectPublicKeyInfo ("BEGIN PUBLIC
// KEY") or the key of the file's first X.509 certificate. nullptr and *error
// on failure.
PkeyPtr load_pem_public_key(const std::string& path, std::string* error);

// Parses a JWKS document ({"keys":[...]}, RFC 7517) and appends its keys.
// Each key needs a kid; `use` other than "sig" is skipped. kty RSA (n, e), EC
// (crv P-256/P-384, x, y), OKP (crv Ed25519/Ed448, x) or oct (k). `alg`, when
// present, must be one ringcast supports and fit the key; when absent, EC
// P-256 -> ES256, P-384 -> ES384, OKP -> EdDSA, RSA -> any RS*, oct -> any
// HS*. false and *error (naming `origin` and the key) on the first bad key.
bool parse_jwks(std::string_view json, std::string_view origin, std::vector<Key>* out,
                std::string* error);

// Loads every key cfg names (cfg.keys, then cfg.jwks_file's). false and
// *error naming the key ("key #2 (kid \"a\")") or the file on the first
// failure, and on two keys with the same kid. No key at all is not an error.
bool load_keys(const AuthConfig& cfg, std::vector<Key>* out, std::string* error);

}  // namespace ringcast::auth
