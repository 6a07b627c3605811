// JWS signature checks (RFC 7515 section 5.2, RFC 7518 section 3, RFC 8037)
// with OpenSSL 3.0 EVP: HMAC through EVP_MAC and CRYPTO_memcmp, everything
// else through EVP_DigestVerify. Thread-safe: the methods are fetched once and
// keys are only read.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/alg.hpp"
#include "auth/keys.hpp"

namespace ringcast::auth {

// The longest DER ECDSA-Sig-Value ecdsa_raw_to_der writes (ES384:
// SEQUENCE { INTEGER (<= 49 bytes), INTEGER (<= 49 bytes) }).
inline constexpr size_t kMaxEcdsaDer = 2 + 2 * (2 + 49);

// A JWS ECDSA signature (R || S, each `raw_len / 2` bytes big-endian) as the
// DER ECDSA-Sig-Value EVP expects. Returns bytes written to der (at most
// kMaxEcdsaDer), 0 if raw_len is not 64 or 96 (the only lengths ES256 and
// ES384 have).
size_t ecdsa_raw_to_der(const uint8_t* raw, size_t raw_len, uint8_t der[kMaxEcdsaDer]);

// The fetched OpenSSL methods verification uses; create() once, share freely.
class SignatureChecker {
 public:
  SignatureChecker() = default;
  SignatureChecker(const SignatureChecker&) = delete;
  SignatureChecker& operator=(const SignatureChecker&) = delete;
  ~SignatureChecker();

  // Fetches SHA-256/384/512 and HMAC; false if the provider lacks one.
  bool init();

  // True only if `sig` is a valid `alg` signature of `signing_input` under
  // `key`. The caller has checked that key.algs holds alg. Leaves no error on
  // this thread's OpenSSL error queue.
  bool verify(const Key& key, Alg alg, std::string_view signing_input, const uint8_t* sig,
              size_t sig_len) const;

 private:
  const EVP_MD* digest(Alg alg) const;
  bool verify_hmac(const Key& key, Alg alg, std::string_view input, const uint8_t* sig, size_t sig_len) const;
  bool verify_pkey(const Key& key, Alg alg, std::string_view input, const uint8_t* sig, size_t sig_len) const;

  EVP_MD* sha256_ = nullptr;
  EVP_MD* sha384_ = nullptr;
  EVP_MD* sha512_ = nullptr;
  EVP_MAC* hmac_ = nullptr;
};

}  // namespace ringcast::auth
