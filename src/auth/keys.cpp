#include "auth/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ringcast::auth {

namespace {

// A PEM file or JWKS document larger than this is a mistake (a key is a few KB).
constexpr size_t kMaxKeyFileBytes = 4u << 20;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

// The last queued OpenSSL error's text (the queue is emptied), or `fallback`.
std::string openssl_reason(const char* fallback) {
  unsigned long code = 0, last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return fallback;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// Never prompts: a PEM block that wants a passphrase simply fails to load.
int no_passphrase(char*, int, int, void*) { return 0; }

std::string config_key_label(size_t index, const JwtKeyConfig& kc) {
  std::string label = "key #" + std::to_string(index + 1);
  if (!kc.kid.empty()) label += " (kid \"" + kc.kid + "\")";
  return label;
}

bool read_file(const std::string& path, std::string* out, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *error = std::strerror(errno);
    return false;
  }
  out->clear();
  char buf[16384];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out->size() <= kMaxKeyFileBytes) out->append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) *error = "read error";
  return !failed;
}

bool is_group(EVP_PKEY* pkey, const char* name, const char* nist_name) {
  char group[64];
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) return false;
  return std::strcmp(group, name) == 0 || std::strcmp(group, nist_name) == 0;
}

}  // namespace

Key::~Key() {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
}

std::string check_public_key(EVP_PKEY* pkey, Alg alg) {
  const std::string name(alg_name(alg));
  switch (key_kind(alg)) {
    case KeyKind::hmac:
      return name + " takes a shared secret, not a public key";
    case KeyKind::rsa:
      if (!EVP_PKEY_is_a(pkey, "RSA")) return name + " needs an RSA key, this is not one";
      if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
        return "RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey)) + " bits, " + name +
               " needs at least " + std::to_string(kMinRsaBits);
      }
      break;
    case KeyKind::ec: {
      const bool p256 = alg == Alg::ES256;
      if (!EVP_PKEY_is_a(pkey, "EC") ||
          !(p256 ? is_group(pkey, "prime256v1", "P-256") : is_group(pkey, "secp384r1", "P-384"))) {
        return name + " needs an EC key on " + (p256 ? "P-256" : "P-384") + ", this is not one";
      }
      break;
    }
    case KeyKind::okp:
      if (!EVP_PKEY_is_a(pkey, "ED25519") && !EVP_PKEY_is_a(pkey, "ED448")) {
        return name + " needs an Ed25519 or Ed448 key, this is not one";
      }
      break;
  }
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
    return "the public key fails its validity check: " + openssl_reason("unknown reason");
  }
  ERR_clear_error();
  return "";
}

PkeyPtr load_pem_public_key(const std::string& path, std::string* error) {
  std::string text, why;
  if (!read_file(path, &text, &why)) {
    *error = "cannot read " + path + ": " + why;
    return nullptr;
  }
  if (text.size() > kMaxKeyFileBytes) {
    *error = "cannot read " + path + ": larger than " + std::to_string(kMaxKeyFileBytes) + " bytes";
    return nullptr;
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) {
    *error = "cannot read " + path + ": " + openssl_reason("out of memory");
    return nullptr;
  }
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    ERR_clear_error();
    BIO_reset(bio.get());
    if (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
      pkey.reset(X509_get_pubkey(cert));
      X509_free(cert);
    }
  }
  if (!pkey) {
    *error = path + " holds no public key (\"BEGIN PUBLIC KEY\") or certificate: " +
             openssl_reason("no PEM block found");
    return nullptr;
  }
  ERR_clear_error();
  return pkey;
}

bool load_keys(const AuthConfig& cfg, std::vector<Key>* out, std::string* error) {
  std::vector<Key> keys;
  for (size_t i = 0; i < cfg.keys.size(); ++i) {
    const JwtKeyConfig& kc = cfg.keys[i];
    const std::string label = config_key_label(i, kc);
    Alg alg;
    if (!parse_alg(kc.alg, &alg)) {
      *error = label + ": unsupported alg \"" + kc.alg +
               "\" (one of HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 EdDSA)";
      return false;
    }
    Key k;
    k.kid = kc.kid;
    k.algs = alg_bit(alg);
    k.kind = key_kind(alg);
    if (k.kind == KeyKind::hmac) {
      if (!kc.pem_file.empty()) {
        *error = label + ": alg " + kc.alg + " takes a secret, not a pem_file";
        return false;
      }
      if (kc.secret.empty()) {
        *error = label + ": alg " + kc.alg + " needs a non-empty secret";
        return false;
      }
      k.secret = kc.secret;
    } else {
      if (!kc.secret.empty()) {
        *error = label + ": alg " + kc.alg + " takes a pem_file (a public key), not a secret";
        return false;
      }
      if (kc.pem_file.empty()) {
        *error = label + ": alg " + kc.alg + " needs a pem_file";
        return false;
      }
      std::string why;
      k.pkey = load_pem_public_key(kc.pem_file, &why);
      if (!k.pkey) {
        *error = label + ": " + why;
        return false;
      }
      why = check_public_key(k.pkey.get(), alg);
      if (!why.empty()) {
        *error = label + ": " + kc.pem_file + ": " + why;
        return false;
      }
    }
    keys.push_back(std::move(k));
  }

  if (!cfg.jwks_file.empty()) {
    std::string text, why;
    if (!read_file(cfg.jwks_file, &text, &why)) {
      *error = "jwks_file: cannot read " + cfg.jwks_file + ": " + why;
      return false;
    }
    if (text.size() > kMaxKeyFileBytes) {
      *error = "jwks_file " + cfg.jwks_file + " is larger than " + std::to_string(kMaxKeyFileBytes) + " bytes";
      return false;
    }
    if (!parse_jwks(text, "jwks_file " + cfg.jwks_file, &keys, error)) return false;
  }

  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].kid.empty()) continue;
    for (size_t j = i + 1; j < keys.size(); ++j) {
      if (keys[j].kid == keys[i].kid) {
        *error = "two keys have kid \"" + keys[i].kid + "\"";
        return false;
      }
    }
  }
  *out = std::move(keys);
  return true;
}

}  // namespace ringcast::auth
