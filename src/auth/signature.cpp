#include "auth/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <cstring>
#include <memory>

namespace ringcast::auth {

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// One DER INTEGER holding the unsigned big-endian value v[0, n): leading
// zero bytes dropped, one 0x00 put back when the top bit is set (else it
// would read as negative); zero is the single byte 00.
size_t der_integer(const uint8_t* v, size_t n, uint8_t* out) {
  while (n > 1 && v[0] == 0) {
    ++v;
    --n;
  }
  const bool pad = (v[0] & 0x80) != 0;
  out[0] = 0x02;
  out[1] = static_cast<uint8_t>(n + pad);
  size_t at = 2;
  if (pad) out[at++] = 0x00;
  std::memcpy(out + at, v, n);
  return at + n;
}

}  // namespace

size_t ecdsa_raw_to_der(const uint8_t* raw, size_t raw_len, uint8_t der[kMaxEcdsaDer]) {
  if (raw_len != 64 && raw_len != 96) return 0;
  const size_t half = raw_len / 2;
  // Every length here is below 128, so each is one byte (DER short form).
  size_t at = 2;
  at += der_integer(raw, half, der + at);
  at += der_integer(raw + half, half, der + at);
  der[0] = 0x30;
  der[1] = static_cast<uint8_t>(at - 2);
  return at;
}

SignatureChecker::~SignatureChecker() {
  EVP_MD_free(sha256_);
  EVP_MD_free(sha384_);
  EVP_MD_free(sha512_);
  EVP_MAC_free(hmac_);
}

bool SignatureChecker::init() {
  sha256_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  sha384_ = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  sha512_ = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  hmac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ERR_clear_error();
  return sha256_ && sha384_ && sha512_ && hmac_;
}

const EVP_MD* SignatureChecker::digest(Alg alg) const {
  switch (alg) {
    case Alg::HS256: case Alg::RS256: case Alg::ES256: return sha256_;
    case Alg::HS384: case Alg::RS384: case Alg::ES384: return sha384_;
    case Alg::HS512: case Alg::RS512: return sha512_;
    case Alg::EdDSA: return nullptr;  // Ed25519/Ed448 hash internally
  }
  return nullptr;
}

bool SignatureChecker::verify(const Key& key, Alg alg, std::string_view signing_input, const uint8_t* sig,
                              size_t sig_len) const {
  if (!(key.algs & alg_bit(alg)) || key.kind != key_kind(alg)) return false;  // never cross families
  const bool ok = key.kind == KeyKind::hmac ? verify_hmac(key, alg, signing_input, sig, sig_len)
                                            : verify_pkey(key, alg, signing_input, sig, sig_len);
  ERR_clear_error();
  return ok;
}

bool SignatureChecker::verify_hmac(const Key& key, Alg alg, std::string_view input, const uint8_t* sig,
                                   size_t sig_len) const {
  if (key.secret.empty()) return false;
  const EVP_MD* md = digest(alg);
  const size_t mac_len = static_cast<size_t>(EVP_MD_get_size(md));
  if (sig_len != mac_len) return false;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(hmac_));
  if (!ctx) return false;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(md)), 0),
      OSSL_PARAM_construct_end(),
  };
  uint8_t mac[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const uint8_t*>(key.secret.data()), key.secret.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const uint8_t*>(input.data()), input.size()) != 1 ||
      EVP_MAC_final(ctx.get(), mac, &out_len, sizeof mac) != 1 || out_len != mac_len) {
    return false;
  }
  const bool ok = CRYPTO_memcmp(mac, sig, mac_len) == 0;
  OPENSSL_cleanse(mac, sizeof mac);
  return ok;
}

bool SignatureChecker::verify_pkey(const Key& key, Alg alg, std::string_view input, const uint8_t* sig,
                                   size_t sig_len) const {
  if (!key.pkey) return false;
  uint8_t der[kMaxEcdsaDer];
  if (key.kind == KeyKind::ec) {
    // ES256 is exactly 64 bytes and ES384 96 (RFC 7518 section 3.4).
    if (sig_len != (alg == Alg::ES256 ? 64u : 96u)) return false;
    sig_len = ecdsa_raw_to_der(sig, sig_len, der);
    sig = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, digest(alg), nullptr, key.pkey.get()) != 1) return false;
  if (key.kind == KeyKind::rsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  return EVP_DigestVerify(ctx.get(), sig, sig_len, reinterpret_cast<const uint8_t*>(input.data()), input.size()) == 1;
}

}  // namespace ringcast::auth
