// JWKS (RFC 7517) -> Key: every member checked, the EVP_PKEY built from its
// parameters with OSSL_PARAM_BLD + EVP_PKEY_fromdata (OpenSSL 3.0).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <simdjson.h>

#include "auth/base64url.hpp"
#include "auth/keys.hpp"

namespace ringcast::auth {

namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

// The members of one JWK that ringcast reads; a member that is present but
// not a string is an error.
struct Jwk {
  std::string_view kty, kid, use, alg, crv, n, e, x, y, k;
  bool has_kid = false, has_use = false, has_alg = false;
};

bool read_members(simdjson::dom::object obj, Jwk* jwk, std::string* why) {
  struct Member {
    const char* name;
    std::string_view* value;
    bool* present;
  };
  const Member members[] = {
      {"kty", &jwk->kty, nullptr}, {"kid", &jwk->kid, &jwk->has_kid}, {"use", &jwk->use, &jwk->has_use},
      {"alg", &jwk->alg, &jwk->has_alg}, {"crv", &jwk->crv, nullptr}, {"n", &jwk->n, nullptr},
      {"e", &jwk->e, nullptr}, {"x", &jwk->x, nullptr}, {"y", &jwk->y, nullptr},
      {"k", &jwk->k, nullptr},
  };
  for (const Member& m : members) {
    simdjson::dom::element v;
    if (obj[m.name].get(v) != simdjson::SUCCESS) continue;
    if (v.get_string().get(*m.value) != simdjson::SUCCESS) {
      *why = std::string("member \"") + m.name + "\" is not a string";
      return false;
    }
    if (m.present) *m.present = true;
  }
  return true;
}

// Strict base64url of a JWK member into *out; `want` = the exact byte count
// needed, 0 = any non-zero count.
bool decode_member(std::string_view b64, const char* name, size_t want, std::string* out,
                   std::string* why) {
  const size_t n = base64url_decoded_size(b64.size());
  if (n == kBase64urlInvalidLength || n == 0) {
    *why = std::string("member \"") + name + "\" is missing or not base64url";
    return false;
  }
  out->resize(n);
  if (!base64url_decode(b64, reinterpret_cast<uint8_t*>(out->data()))) {
    *why = std::string("member \"") + name + "\" is not base64url (no padding)";
    return false;
  }
  if (want != 0 && n != want) {
    *why = std::string("member \"") + name + "\" is " + std::to_string(n) + " bytes, not " +
           std::to_string(want);
    return false;
  }
  return true;
}

PkeyPtr from_params(const char* type, OSSL_PARAM_BLD* bld, std::string* why) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    EVP_PKEY_free(pkey);
    char buf[256] = "unknown reason";
    if (unsigned long code = ERR_peek_last_error()) ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    *why = std::string("not a valid ") + type + " public key: " + buf;
    return nullptr;
  }
  return PkeyPtr(pkey);
}

PkeyPtr rsa_key(const Jwk& jwk, std::string* why) {
  std::string n, e;
  if (!decode_member(jwk.n, "n", 0, &n, why) || !decode_member(jwk.e, "e", 0, &e, why)) return nullptr;
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const uint8_t*>(n.data()), static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const uint8_t*>(e.data()), static_cast<int>(e.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    *why = "out of memory";
    return nullptr;
  }
  return from_params("RSA", bld.get(), why);
}

PkeyPtr ec_key(const Jwk& jwk, const char* group, size_t coord_bytes, std::string* why) {
  std::string x, y;
  if (!decode_member(jwk.x, "x", coord_bytes, &x, why) || !decode_member(jwk.y, "y", coord_bytes, &y, why)) {
    return nullptr;
  }
  std::string point;  // SEC 1 uncompressed: 04 || x || y
  point.reserve(1 + 2 * coord_bytes);
  point += '\x04';
  point += x;
  point += y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    *why = "out of memory";
    return nullptr;
  }
  return from_params("EC", bld.get(), why);
}

PkeyPtr okp_key(const Jwk& jwk, const char* type, size_t bytes, std::string* why) {
  std::string x;
  if (!decode_member(jwk.x, "x", bytes, &x, why)) return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x.data(), x.size())) {
    *why = "out of memory";
    return nullptr;
  }
  return from_params(type, bld.get(), why);
}

// One JWK -> *key; false and *why when it cannot be used. *skip when its
// `use` says it is not for signatures.
bool make_key(const Jwk& jwk, Key* key, bool* skip, std::string* why) {
  *skip = false;
  if (jwk.has_use && jwk.use != "sig") {
    *skip = true;
    return true;
  }
  if (!jwk.has_kid || jwk.kid.empty()) {
    *why = "no kid (JWKS keys are selected by kid)";
    return false;
  }
  Alg alg{};
  if (jwk.has_alg && !parse_alg(jwk.alg, &alg)) {
    *why = "unsupported alg \"" + std::string(jwk.alg) + "\"";
    return false;
  }
  // The algs this kty (and crv) can verify, and the one to check the key with.
  AlgSet fits = 0;
  Alg check_as{};
  if (jwk.kty == "RSA") {
    fits = kRsaAlgs;
    check_as = Alg::RS256;
    key->pkey = rsa_key(jwk, why);
  } else if (jwk.kty == "EC") {
    if (jwk.crv == "P-256") {
      check_as = Alg::ES256;
      key->pkey = ec_key(jwk, "prime256v1", 32, why);
    } else if (jwk.crv == "P-384") {
      check_as = Alg::ES384;
      key->pkey = ec_key(jwk, "secp384r1", 48, why);
    } else {
      *why = "unsupported EC crv \"" + std::string(jwk.crv) + "\" (P-256 or P-384)";
      return false;
    }
    fits = alg_bit(check_as);
  } else if (jwk.kty == "OKP") {
    if (jwk.crv == "Ed25519") {
      key->pkey = okp_key(jwk, "ED25519", 32, why);
    } else if (jwk.crv == "Ed448") {
      key->pkey = okp_key(jwk, "ED448", 57, why);
    } else {
      *why = "unsupported OKP crv \"" + std::string(jwk.crv) + "\" (Ed25519 or Ed448)";
      return false;
    }
    fits = alg_bit(Alg::EdDSA);
    check_as = Alg::EdDSA;
  } else if (jwk.kty == "oct") {
    fits = kHmacAlgs;
    if (!decode_member(jwk.k, "k", 0, &key->secret, why)) return false;
  } else {
    *why = "unsupported kty \"" + std::string(jwk.kty) + "\" (RSA, EC, OKP or oct)";
    return false;
  }
  if (fits != kHmacAlgs) {
    if (!key->pkey) return false;  // *why set by the builder
    *why = check_public_key(key->pkey.get(), check_as);
    if (!why->empty()) return false;
  }
  if (jwk.has_alg && !(fits & alg_bit(alg))) {
    *why = "alg " + std::string(jwk.alg) + " does not fit kty " + std::string(jwk.kty) +
           (jwk.crv.empty() ? "" : " crv " + std::string(jwk.crv));
    return false;
  }
  key->kid = jwk.kid;
  key->algs = jwk.has_alg ? alg_bit(alg) : fits;
  key->kind = fits == kHmacAlgs ? KeyKind::hmac : key_kind(check_as);
  return true;
}

}  // namespace

bool parse_jwks(std::string_view json, std::string_view origin, std::vector<Key>* out,
                std::string* error) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  simdjson::dom::array keys;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS) {
    *error = std::string(origin) + ": not JSON (" + simdjson::error_message(err) + ")";
    return false;
  }
  if (root["keys"].get_array().get(keys) != simdjson::SUCCESS) {
    *error = std::string(origin) + ": not a JWKS document (no \"keys\" array)";
    return false;
  }
  size_t index = 0;
  for (simdjson::dom::element item : keys) {
    ++index;
    std::string label = std::string(origin) + " key #" + std::to_string(index);
    simdjson::dom::object obj;
    Jwk jwk;
    std::string why;
    if (item.get_object().get(obj) != simdjson::SUCCESS) {
      *error = label + ": not an object";
      return false;
    }
    if (!read_members(obj, &jwk, &why)) {
      *error = label + ": " + why;
      return false;
    }
    if (jwk.has_kid) label += " (kid \"" + std::string(jwk.kid) + "\")";
    Key key;
    bool skip = false;
    if (!make_key(jwk, &key, &skip, &why)) {
      *error = label + ": " + why;
      return false;
    }
    if (!skip) out->push_back(std::move(key));
  }
  return true;
}

}  // namespace ringcast::auth
