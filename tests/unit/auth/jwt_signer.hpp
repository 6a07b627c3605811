// Test-only JWS signer and key tools: keys generated in-process with EVP,
// their PEM / certificate / JWK forms, and compact tokens signed with them.
// Header-only so that bench/micro/jwt_bench.cpp can use it too. Failures
// abort: this is test scaffolding, not production code.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/base64url.hpp"

namespace ringcast::auth::test {

[[noreturn]] inline void signer_fail(const char* what) {
  std::fprintf(stderr, "jwt_signer: %s failed\n", what);
  std::abort();
}

struct TestPkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using TestPkey = std::unique_ptr<EVP_PKEY, TestPkeyFree>;

inline TestPkey generate_rsa(unsigned bits) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{bits});
  if (!k) signer_fail("RSA keygen");
  return TestPkey(k);
}
inline TestPkey generate_ec(const char* curve) {  // "P-256", "P-384"
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  if (!k) signer_fail("EC keygen");
  return TestPkey(k);
}
inline TestPkey generate_okp(const char* type) {  // "ED25519", "ED448", "X25519"
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  if (!k) signer_fail("OKP keygen");
  return TestPkey(k);
}

inline std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
inline std::string public_pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PUBKEY(bio, k) != 1) signer_fail("PEM_write_bio_PUBKEY");
  return bio_string(bio);
}

// PKCS#8 private key PEM (to check that the verifier refuses it).
inline std::string private_pem(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    signer_fail("PEM_write_bio_PrivateKey");
  }
  return bio_string(bio);
}

// A self-signed X.509 certificate for k, as PEM.
inline std::string certificate_pem(EVP_PKEY* k) {
  X509* x = X509_new();
  if (!x) signer_fail("X509_new");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ringcast test"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, k);
  const bool no_digest = EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448");
  if (X509_sign(x, k, no_digest ? nullptr : EVP_sha256()) <= 0) signer_fail("X509_sign");
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_X509(bio, x) != 1) signer_fail("PEM_write_bio_X509");
  X509_free(x);
  return bio_string(bio);
}

inline std::string b64url(std::string_view bytes) {
  std::string out;
  base64url_append(bytes, out);
  return out;
}

// A big-endian BIGNUM parameter of k, left-padded to `width` bytes (0 = minimal).
inline std::string bn_param(EVP_PKEY* k, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &bn) != 1) signer_fail("EVP_PKEY_get_bn_param");
  std::string out(static_cast<size_t>(width ? width : BN_num_bytes(bn)), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) < 0) {
    signer_fail("BN_bn2binpad");
  }
  BN_free(bn);
  return out;
}

// The public JWK of k (RSA, EC P-256/P-384, Ed25519/Ed448) as a JSON object;
// `alg` is omitted when empty. `extra` is spliced in verbatim (",\"use\":\"enc\"").
inline std::string public_jwk(EVP_PKEY* k, std::string_view kid, std::string_view alg, std::string_view extra = "") {
  std::string j = "{\"kid\":\"" + std::string(kid) + "\"";
  if (!alg.empty()) j += ",\"alg\":\"" + std::string(alg) + "\"";
  if (EVP_PKEY_is_a(k, "RSA")) {
    j += ",\"kty\":\"RSA\",\"n\":\"" + b64url(bn_param(k, OSSL_PKEY_PARAM_RSA_N)) + "\",\"e\":\"" +
         b64url(bn_param(k, OSSL_PKEY_PARAM_RSA_E)) + "\"";
  } else if (EVP_PKEY_is_a(k, "EC")) {
    const int width = EVP_PKEY_get_bits(k) / 8;
    j += std::string(",\"kty\":\"EC\",\"crv\":\"") + (width == 32 ? "P-256" : "P-384") + "\",\"x\":\"" +
         b64url(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, width)) + "\",\"y\":\"" +
         b64url(bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, width)) + "\"";
  } else {
    unsigned char raw[64];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1) signer_fail("EVP_PKEY_get_raw_public_key");
    j += std::string(",\"kty\":\"OKP\",\"crv\":\"") + (EVP_PKEY_is_a(k, "ED448") ? "Ed448" : "Ed25519") +
         "\",\"x\":\"" + b64url(std::string_view(reinterpret_cast<char*>(raw), len)) + "\"";
  }
  return j + std::string(extra) + "}";
}

inline std::string oct_jwk(std::string_view secret, std::string_view kid, std::string_view alg) {
  std::string j = "{\"kty\":\"oct\",\"kid\":\"" + std::string(kid) + "\"";
  if (!alg.empty()) j += ",\"alg\":\"" + std::string(alg) + "\"";
  return j + ",\"k\":\"" + b64url(secret) + "\"}";
}

// What signs a token: `alg` as it goes in the header, and an HMAC secret or
// a private key.
struct Signer {
  std::string alg;
  std::string secret;
  EVP_PKEY* key = nullptr;
};

inline const char* signer_digest(std::string_view alg) {
  if (alg.ends_with("256")) return "SHA256";
  if (alg.ends_with("384")) return "SHA384";
  if (alg.ends_with("512")) return "SHA512";
  return nullptr;  // EdDSA
}

// The raw JWS signature of input: an HMAC, PKCS#1 v1.5, R||S, or EdDSA.
inline std::string sign_raw(const Signer& s, std::string_view input) {
  const char* md = signer_digest(s.alg);
  if (s.alg.starts_with("HS")) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, md, nullptr, s.secret.data(), s.secret.size(),
                   reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &len)) {
      signer_fail("EVP_Q_mac");
    }
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx, nullptr, md, nullptr, nullptr, s.key, nullptr) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    signer_fail("EVP_DigestSignInit");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    signer_fail("EVP_DigestSign");
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (!s.alg.starts_with("ES")) return sig;
  // DER ECDSA-Sig-Value -> R || S, each the curve's size.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (!es) signer_fail("d2i_ECDSA_SIG");
  const int width = s.alg == "ES256" ? 32 : s.alg == "ES384" ? 48 : 66;
  std::string raw(static_cast<size_t>(2 * width), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), width);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + width, width);
  ECDSA_SIG_free(es);
  return raw;
}

// header_json and payload_json go in verbatim (so tests can send odd JSON).
inline std::string make_token(const Signer& s, std::string_view header_json, std::string_view payload_json) {
  std::string input = b64url(header_json) + "." + b64url(payload_json);
  return input + "." + b64url(sign_raw(s, input));
}

// The usual header: {"alg":...,"typ":"JWT"} plus "kid" when given.
inline std::string header_for(std::string_view alg, std::string_view kid = "") {
  std::string h = "{\"alg\":\"" + std::string(alg) + "\",\"typ\":\"JWT\"";
  if (!kid.empty()) h += ",\"kid\":\"" + std::string(kid) + "\"";
  return h + "}";
}

}  // namespace ringcast::auth::test
