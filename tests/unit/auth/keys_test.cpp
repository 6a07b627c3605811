// Verifier::create: what it loads and what it refuses (with an error naming
// the key or file), for config keys, PEM files, certificates and JWKS.
#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "auth/keys.hpp"
#include "auth_test_util.hpp"

namespace ringcast::auth {
namespace {

using namespace test;

class KeysTest : public ::testing::Test {
 protected:
  const TestKeys& keys = TestKeys::get();
  TempDir dir;

  // create() must fail with an error containing every one of `parts`.
  void expect_refused(const AuthConfig& cfg, std::initializer_list<std::string_view> parts) {
    std::string error;
    auto v = Verifier::create(cfg, &error);
    EXPECT_EQ(v, nullptr);
    EXPECT_FALSE(error.empty());
    for (std::string_view p : parts) EXPECT_NE(error.find(p), std::string::npos) << "'" << p << "' not in: " << error;
  }
  AuthConfig jwks_config(std::string_view jwks_json) {
    AuthConfig cfg;
    cfg.jwks_file = dir.write("keys.jwks", jwks_json);
    return cfg;
  }
  std::string jwks(std::string_view key_json) { return "{\"keys\":[" + std::string(key_json) + "]}"; }
};

TEST_F(KeysTest, EveryConfigKeyKindLoads) {
  AuthConfig cfg = everything_config(keys, dir);
  std::string error;
  auto v = Verifier::create(cfg, &error);
  ASSERT_NE(v, nullptr) << error;
  EXPECT_TRUE(error.empty());
}

TEST_F(KeysTest, NoKeyAtAllGivesAVerifierThatRefusesEverything) {
  std::string error;
  auto v = Verifier::create(AuthConfig{}, &error);
  ASSERT_NE(v, nullptr) << error;
  EXPECT_EQ(v->key_count(), 0u);
  const Signer hs{"HS256", "secret", nullptr};
  EXPECT_EQ(v->verify(make_token(hs, header_for("HS256"), payload()), kNow, nullptr), AuthError::unknown_key);
  EXPECT_EQ(v->verify(make_token(hs, header_for("HS256", "k"), payload()), kNow, nullptr), AuthError::unknown_key);
  // Likewise a JWKS whose only key is for encryption.
  v = Verifier::create(jwks_config(jwks(public_jwk(keys.rsa.get(), "e", "", ",\"use\":\"enc\""))), &error);
  ASSERT_NE(v, nullptr) << error;
  EXPECT_EQ(v->key_count(), 0u);
}

TEST_F(KeysTest, AlgAndKeyTypeMustAgreeAtLoad) {
  const struct {
    const char* alg;
    const std::string* pem;
  } wrong[] = {
      {"RS256", &keys.ec256_pem},   {"RS384", &keys.ed25519_pem}, {"ES256", &keys.rsa_pem},
      {"ES256", &keys.ec384_pem},   {"ES384", &keys.ec256_pem},   {"EdDSA", &keys.rsa_pem},
      {"EdDSA", &keys.ec256_pem},
  };
  for (const auto& w : wrong) {
    AuthConfig cfg;
    cfg.keys = {hs_key("HS256", "fine-secret"), pem_key(w.alg, *w.pem, "k2")};
    expect_refused(cfg, {"key #2", "kid \"k2\"", *w.pem, w.alg});
  }
  AuthConfig cfg;
  cfg.keys = {pem_key("HS256", keys.rsa_pem)};  // an HMAC alg with a public key file
  expect_refused(cfg, {"key #1", "HS256", "secret"});
  cfg.keys = {JwtKeyConfig{"k", "HS256", "s", keys.rsa_pem}};
  expect_refused(cfg, {"kid \"k\"", "not a pem_file"});
  cfg.keys = {hs_key("RS256", "a secret is not an RSA key")};
  expect_refused(cfg, {"key #1", "RS256", "not a secret"});
  cfg.keys = {pem_key("RS256", "")};
  expect_refused(cfg, {"needs a pem_file"});
  cfg.keys = {hs_key("HS256", "")};
  expect_refused(cfg, {"non-empty secret"});
}

TEST_F(KeysTest, UnsupportedAlgsAreRefused) {
  for (const char* alg : {"none", "", "PS256", "ES512", "hs256", "RS1"}) {
    AuthConfig cfg;
    cfg.keys = {hs_key(alg, "secret", "x")};
    expect_refused(cfg, {"kid \"x\"", "unsupported alg"});
  }
}

TEST_F(KeysTest, PemFilesMustHoldAUsablePublicKey) {
  AuthConfig cfg;
  cfg.keys = {pem_key("RS256", dir.path() + "/does-not-exist.pem", "gone")};
  expect_refused(cfg, {"kid \"gone\"", "does-not-exist.pem", "No such file"});
  cfg.keys = {pem_key("RS256", dir.write("private.pem", private_pem(keys.rsa.get())))};
  expect_refused(cfg, {"private.pem", "no public key"});
  cfg.keys = {pem_key("RS256", dir.write("garbage.pem", "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"))};
  expect_refused(cfg, {"garbage.pem"});
  cfg.keys = {pem_key("RS256", dir.write("empty.pem", ""))};
  expect_refused(cfg, {"empty.pem"});
  cfg.keys = {pem_key("RS256", dir.path())};  // a folder
  expect_refused(cfg, {dir.path()});
  TestPkey small = generate_rsa(1024);
  cfg.keys = {pem_key("RS256", dir.write("rsa1024.pem", public_pem(small.get())))};
  expect_refused(cfg, {"rsa1024.pem", "1024 bits", "2048"});
  TestPkey x25519 = generate_okp("X25519");
  cfg.keys = {pem_key("EdDSA", dir.write("x25519.pem", public_pem(x25519.get())))};
  expect_refused(cfg, {"x25519.pem", "Ed25519"});
}

TEST_F(KeysTest, CertificatesGiveTheirPublicKey) {
  const struct {
    const char* alg;
    EVP_PKEY* key;
  } cases[] = {{"RS256", keys.rsa.get()}, {"ES256", keys.ec256.get()}, {"ES384", keys.ec384.get()},
               {"EdDSA", keys.ed25519.get()}};
  for (const auto& c : cases) {
    AuthConfig cfg;
    // Some text before the certificate, as in a bundle.
    cfg.keys = {pem_key(c.alg, dir.write(std::string(c.alg) + ".crt", "subject=CN = ringcast test\n" + certificate_pem(c.key)))};
    std::string error;
    auto v = Verifier::create(cfg, &error);
    ASSERT_NE(v, nullptr) << c.alg << ": " << error;
    const Signer s{c.alg, "", c.key};
    EXPECT_EQ(v->verify(make_token(s, header_for(c.alg), payload()), kNow, nullptr), AuthError::none) << c.alg;
  }
}

TEST_F(KeysTest, KidsMustBeUnique) {
  AuthConfig cfg;
  cfg.keys = {hs_key("HS256", "one", "same"), hs_key("HS384", "two", "same")};
  expect_refused(cfg, {"two keys have kid \"same\""});
  cfg.keys = {hs_key("HS256", "one", "same")};
  cfg.jwks_file = dir.write("dup.jwks", jwks(oct_jwk("two", "same", "")));
  expect_refused(cfg, {"two keys have kid \"same\""});
  cfg.keys = {};
  cfg.jwks_file = dir.write("dup2.jwks", jwks(oct_jwk("one", "same", "") + "," + public_jwk(keys.ec256.get(), "same", "")));
  expect_refused(cfg, {"two keys have kid \"same\""});
  // Kid-less config keys may share an alg (rotation).
  cfg.jwks_file.clear();
  cfg.keys = {hs_key("HS256", "one"), hs_key("HS256", "two")};
  std::string error;
  EXPECT_NE(Verifier::create(cfg, &error), nullptr) << error;
}

TEST_F(KeysTest, JwksFileErrorsNameTheFileAndKey) {
  AuthConfig cfg;
  cfg.jwks_file = dir.path() + "/missing.jwks";
  expect_refused(cfg, {"missing.jwks", "No such file"});
  expect_refused(jwks_config("not json"), {"keys.jwks", "not JSON"});
  expect_refused(jwks_config("{\"keys\":{}}"), {"keys.jwks", "no \"keys\" array"});
  expect_refused(jwks_config("[]"), {"no \"keys\" array"});
  expect_refused(jwks_config(jwks("42")), {"key #1", "not an object"});

  const std::string ec = public_jwk(keys.ec256.get(), "ec-1", "");
  const std::string ec_body = ec.substr(ec.find(",\"kty\""));  // without kid (and alg)
  const struct {
    std::string key;
    std::vector<std::string_view> parts;
  } bad[] = {
      {"{" + ec_body.substr(1), {"key #1", "no kid"}},
      {"{\"kid\":\"\"" + ec_body, {"no kid"}},
      {"{\"kid\":5" + ec_body, {"\"kid\" is not a string"}},
      {"{\"kid\":\"a\",\"kty\":\"XYZ\"}", {"kid \"a\"", "unsupported kty \"XYZ\""}},
      {"{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}", {"unsupported EC crv \"P-521\""}},
      {"{\"kid\":\"a\",\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}", {"unsupported OKP crv \"X25519\""}},
      {"{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", {"\"x\" is 3 bytes, not 32"}},
      {"{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-256\"}", {"\"x\" is missing"}},
      {"{\"kid\":\"a\",\"kty\":\"oct\"}", {"\"k\" is missing"}},
      {"{\"kid\":\"a\",\"kty\":\"oct\",\"k\":\"c2VjcmV0==\"}", {"\"k\" is not base64url"}},
      {"{\"kid\":\"a\",\"kty\":\"oct\",\"k\":\"c2Vj+mV0\"}", {"\"k\" is not base64url"}},
      {"{\"kid\":\"a\",\"kty\":\"oct\",\"alg\":\"RS256\",\"k\":\"c2VjcmV0\"}", {"alg RS256 does not fit kty oct"}},
      {"{\"kid\":\"a\",\"kty\":\"oct\",\"alg\":\"none\",\"k\":\"c2VjcmV0\"}", {"unsupported alg \"none\""}},
      {"{\"kid\":\"a\",\"kty\":\"oct\",\"alg\":7,\"k\":\"c2VjcmV0\"}", {"\"alg\" is not a string"}},
      {public_jwk(keys.ec256.get(), "a", "ES384"), {"alg ES384 does not fit kty EC crv P-256"}},
      {public_jwk(keys.rsa.get(), "a", "HS256"), {"alg HS256 does not fit kty RSA"}},
      {public_jwk(keys.ed25519.get(), "a", "ES256"), {"alg ES256 does not fit kty OKP"}},
      {public_jwk(keys.rsa.get(), "a", "PS256"), {"unsupported alg \"PS256\""}},
      // A point that is not on the curve: x and y of another curve point swapped.
      {"{\"kid\":\"a\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
           b64url(bn_param(keys.ec256.get(), "qy", 32)) + "\",\"y\":\"" + b64url(bn_param(keys.ec256.get(), "qx", 32)) +
           "\"}",
       {"kid \"a\"", "EC"}},
      {"{\"kid\":\"a\",\"kty\":\"RSA\",\"n\":\"" + b64url(bn_param(generate_rsa(1024).get(), "n")) + "\",\"e\":\"AQAB\"}",
       {"1024 bits"}},
      {"{\"kid\":\"a\",\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", {"kid \"a\"", "RSA"}},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.key);
    std::string error;
    auto v = Verifier::create(jwks_config(jwks(b.key)), &error);
    EXPECT_EQ(v, nullptr);
    EXPECT_NE(error.find("keys.jwks"), std::string::npos) << error;
    for (std::string_view p : b.parts) EXPECT_NE(error.find(p), std::string::npos) << "'" << p << "' not in: " << error;
  }
}

TEST_F(KeysTest, JwksKeysWithoutAlgAcceptTheirFamily) {
  AuthConfig cfg = jwks_config(jwks(public_jwk(keys.rsa.get(), "r", "") + "," + public_jwk(keys.rsa_other.get(), "r256", "RS256") +
                                    "," + oct_jwk("jwks-secret", "o", "") + "," + oct_jwk("jwks-secret", "o384", "HS384") +
                                    "," + public_jwk(keys.ec256.get(), "sig", "", ",\"use\":\"sig\",\"key_ops\":[\"verify\"]")));
  auto v = must_create(cfg);
  EXPECT_EQ(v->key_count(), 5u);
  for (const char* alg : {"RS256", "RS384", "RS512"}) {
    EXPECT_EQ(v->verify(make_token({alg, "", keys.rsa.get()}, header_for(alg, "r"), payload()), kNow, nullptr), AuthError::none);
  }
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    EXPECT_EQ(v->verify(make_token({alg, "jwks-secret", nullptr}, header_for(alg, "o"), payload()), kNow, nullptr),
              AuthError::none);
  }
  EXPECT_EQ(v->verify(make_token({"RS256", "", keys.rsa_other.get()}, header_for("RS256", "r256"), payload()), kNow, nullptr),
            AuthError::none);
  EXPECT_EQ(v->verify(make_token({"RS384", "", keys.rsa_other.get()}, header_for("RS384", "r256"), payload()), kNow, nullptr),
            AuthError::unknown_key);
  EXPECT_EQ(v->verify(make_token({"HS256", "jwks-secret", nullptr}, header_for("HS256", "o384"), payload()), kNow, nullptr),
            AuthError::unknown_key);
  EXPECT_EQ(v->verify(make_token({"ES256", "", keys.ec256.get()}, header_for("ES256", "sig"), payload()), kNow, nullptr),
            AuthError::none);
  // JWKS keys are only ever selected by kid.
  EXPECT_EQ(v->verify(make_token({"RS256", "", keys.rsa.get()}, header_for("RS256"), payload()), kNow, nullptr),
            AuthError::unknown_key);
}

TEST_F(KeysTest, ParseJwksDirectly) {
  std::vector<Key> out;
  std::string error;
  ASSERT_TRUE(parse_jwks(jwks(public_jwk(keys.ed25519.get(), "e", "")), "test", &out, &error)) << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kid, "e");
  EXPECT_EQ(out[0].kind, KeyKind::okp);
  EXPECT_EQ(out[0].algs, alg_bit(Alg::EdDSA));
  EXPECT_TRUE(parse_jwks("{\"keys\":[]}", "test", &out, &error));
  EXPECT_EQ(out.size(), 1u);
}

}  // namespace
}  // namespace ringcast::auth
