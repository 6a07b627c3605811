// Shared by the auth unit tests: one set of generated keys (RSA keygen is
// slow, so once per program), their PEM files in a temp folder, and a
// guard-page copy of a token so any over-read faults.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "../guarded.hpp"
#include "auth/jwt.hpp"
#include "jwt_signer.hpp"
#include "ringcast/config.hpp"

namespace ringcast::auth::test {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/ringcast-auth-XXXXXX";
    if (!mkdtemp(templ.data())) signer_fail("mkdtemp");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to <dir>/<name> and returns that path.
  std::string write(const std::string& name, std::string_view text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f) signer_fail("writing a temp file");
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every key the tests sign with, generated once, public halves written to
// PEM files in one TempDir.
struct TestKeys {
  TestPkey rsa = generate_rsa(2048);
  TestPkey rsa_other = generate_rsa(2048);
  TestPkey ec256 = generate_ec("P-256");
  TestPkey ec384 = generate_ec("P-384");
  TestPkey ed25519 = generate_okp("ED25519");
  TestPkey ed448 = generate_okp("ED448");
  std::string hs_secret = "0123456789abcdef0123456789abcdef-hs";
  TempDir dir;
  std::string rsa_pem = dir.write("rsa.pem", public_pem(rsa.get()));
  std::string rsa_other_pem = dir.write("rsa_other.pem", public_pem(rsa_other.get()));
  std::string ec256_pem = dir.write("ec256.pem", public_pem(ec256.get()));
  std::string ec384_pem = dir.write("ec384.pem", public_pem(ec384.get()));
  std::string ed25519_pem = dir.write("ed25519.pem", public_pem(ed25519.get()));
  std::string ed448_pem = dir.write("ed448.pem", public_pem(ed448.get()));

  static const TestKeys& get() {
    static const TestKeys keys;  // destroyed at exit, which removes the folder
    return keys;
  }
};

inline JwtKeyConfig hs_key(std::string_view alg, std::string secret, std::string kid = "") {
  return JwtKeyConfig{std::move(kid), std::string(alg), std::move(secret), ""};
}
inline JwtKeyConfig pem_key(std::string_view alg, std::string pem_file, std::string kid = "") {
  return JwtKeyConfig{std::move(kid), std::string(alg), "", std::move(pem_file)};
}

// A guard-page copy of a token (tests/unit/guarded.hpp).
using ringcast::test::Guarded;

// "now" in every test: 2023-11-14T22:13:20Z.
inline constexpr int64_t kNow = 1700000000;

// A payload with sub and an exp 10 minutes ahead, plus `extra` members
// (",\"aud\":\"x\"").
inline std::string payload(std::string_view extra = "") {
  return "{\"sub\":\"user-1\",\"exp\":" + std::to_string(kNow + 600) + std::string(extra) + "}";
}

// One key of every kind the verifier supports, with and without kid, in
// config and in a JWKS file; `signers` holds what signs for each.
struct Case {
  std::string name;  // for failure messages
  Signer signer;
  std::string kid;   // "" = no kid in the header
};

inline AuthConfig everything_config(const TestKeys& k, const TempDir& dir) {
  AuthConfig cfg;
  cfg.keys = {
      hs_key("HS256", k.hs_secret),
      hs_key("HS384", k.hs_secret + "-384", "hs384"),
      hs_key("HS512", k.hs_secret + "-512", "hs512"),
      pem_key("RS256", k.rsa_pem),
      pem_key("RS384", k.rsa_pem, "rs384"),
      pem_key("RS512", k.rsa_pem, "rs512"),
      pem_key("ES256", k.ec256_pem),
      pem_key("ES384", k.ec384_pem, "es384"),
      pem_key("EdDSA", k.ed25519_pem),
      pem_key("EdDSA", k.ed448_pem, "ed448"),
  };
  const std::string jwks = "{\"keys\":[" + public_jwk(k.rsa_other.get(), "jwks-rsa", "") + "," +
                           public_jwk(k.ec256.get(), "jwks-ec", "") + "," +
                           public_jwk(k.ec384.get(), "jwks-ec384", "ES384") + "," +
                           public_jwk(k.ed25519.get(), "jwks-ed", "") + "," +
                           public_jwk(k.ed448.get(), "jwks-ed448", "EdDSA") + "," +
                           oct_jwk(k.hs_secret + "-jwks", "jwks-oct", "") + "," +
                           public_jwk(k.rsa.get(), "jwks-enc", "", ",\"use\":\"enc\"") + "]}";
  cfg.jwks_file = dir.write("everything.jwks.json", jwks);
  return cfg;
}

// Every (alg, key) pair everything_config accepts.
inline std::vector<Case> every_case(const TestKeys& k) {
  return {
      {"HS256", {"HS256", k.hs_secret, nullptr}, ""},
      {"HS384 kid", {"HS384", k.hs_secret + "-384", nullptr}, "hs384"},
      {"HS512 kid", {"HS512", k.hs_secret + "-512", nullptr}, "hs512"},
      {"RS256", {"RS256", "", k.rsa.get()}, ""},
      {"RS384 kid", {"RS384", "", k.rsa.get()}, "rs384"},
      {"RS512 kid", {"RS512", "", k.rsa.get()}, "rs512"},
      {"ES256", {"ES256", "", k.ec256.get()}, ""},
      {"ES384 kid", {"ES384", "", k.ec384.get()}, "es384"},
      {"EdDSA Ed25519", {"EdDSA", "", k.ed25519.get()}, ""},
      {"EdDSA Ed448 kid", {"EdDSA", "", k.ed448.get()}, "ed448"},
      {"JWKS RSA RS256", {"RS256", "", k.rsa_other.get()}, "jwks-rsa"},
      {"JWKS RSA RS384", {"RS384", "", k.rsa_other.get()}, "jwks-rsa"},
      {"JWKS RSA RS512", {"RS512", "", k.rsa_other.get()}, "jwks-rsa"},
      {"JWKS EC P-256", {"ES256", "", k.ec256.get()}, "jwks-ec"},
      {"JWKS EC P-384", {"ES384", "", k.ec384.get()}, "jwks-ec384"},
      {"JWKS Ed25519", {"EdDSA", "", k.ed25519.get()}, "jwks-ed"},
      {"JWKS Ed448", {"EdDSA", "", k.ed448.get()}, "jwks-ed448"},
      {"JWKS oct HS256", {"HS256", k.hs_secret + "-jwks", nullptr}, "jwks-oct"},
      {"JWKS oct HS512", {"HS512", k.hs_secret + "-jwks", nullptr}, "jwks-oct"},
  };
}

inline std::string token_for(const Case& c, std::string_view payload_json) {
  return make_token(c.signer, header_for(c.signer.alg, c.kid), payload_json);
}

// create() that must succeed.
inline std::unique_ptr<Verifier> must_create(const AuthConfig& cfg) {
  std::string error;
  auto v = Verifier::create(cfg, &error);
  if (!v) {
    std::fprintf(stderr, "Verifier::create: %s\n", error.c_str());
    std::abort();
  }
  return v;
}

}  // namespace ringcast::auth::test
