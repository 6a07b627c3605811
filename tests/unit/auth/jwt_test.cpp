// Verifier: algorithms, key selection, token shape. Claims are in
// claims_test.cpp, key loading in keys_test.cpp.
#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth_test_util.hpp"

namespace ringcast::auth {
namespace {

using namespace test;

class JwtTest : public ::testing::Test {
 protected:
  const TestKeys& keys = TestKeys::get();
  TempDir dir;
  std::unique_ptr<Verifier> v = must_create(everything_config(keys, dir));

  AuthError check(std::string_view token) const {
    Guarded guarded(token);  // any over-read faults
    Identity id;
    return v->verify(guarded.view(), kNow, &id);
  }
};

// Flips one bit of a token's decoded signature and re-encodes it.
std::string with_flipped_signature_bit(const std::string& token, size_t bit) {
  const size_t dot = token.rfind('.');
  const std::string b64 = token.substr(dot + 1);
  std::string sig(base64url_decoded_size(b64.size()), '\0');
  base64url_decode(b64, reinterpret_cast<uint8_t*>(sig.data()));
  sig[(bit / 8) % sig.size()] = static_cast<char>(sig[(bit / 8) % sig.size()] ^ (1 << (bit % 8)));
  return token.substr(0, dot + 1) + b64url(sig);
}

std::string with_signature(const std::string& token, std::string_view raw_sig) {
  return token.substr(0, token.rfind('.') + 1) + b64url(raw_sig);
}

std::string segment(const std::string& token, int i) {
  const size_t d1 = token.find('.'), d2 = token.find('.', d1 + 1);
  if (i == 0) return token.substr(0, d1);
  if (i == 1) return token.substr(d1 + 1, d2 - d1 - 1);
  return token.substr(d2 + 1);
}

TEST_F(JwtTest, EveryAlgorithmAndKeySourceVerifies) {
  EXPECT_EQ(v->key_count(), 16u);  // 10 config keys + 6 JWKS keys (the "enc" one skipped)
  for (const Case& c : every_case(keys)) {
    Identity id;
    EXPECT_EQ(v->verify(token_for(c, payload()), kNow, &id), AuthError::none) << c.name;
    EXPECT_EQ(id.user_id, "user-1") << c.name;
    EXPECT_EQ(check(token_for(c, payload())), AuthError::none) << c.name;
  }
}

TEST_F(JwtTest, TamperedPayloadFails) {
  for (const Case& c : every_case(keys)) {
    const std::string good = token_for(c, payload());
    // Same header and signature, another (validly encoded) payload.
    const std::string forged = segment(good, 0) + "." + b64url(payload(",\"admin\":true")) + "." + segment(good, 2);
    EXPECT_EQ(check(forged), AuthError::bad_signature) << c.name;
    // One character of the payload changed.
    std::string edited = good;
    const size_t at = good.find('.') + 3;
    edited[at] = edited[at] == 'A' ? 'B' : 'A';
    EXPECT_EQ(check(edited), AuthError::bad_signature) << c.name;
  }
}

TEST_F(JwtTest, TamperedSignatureFails) {
  for (const Case& c : every_case(keys)) {
    const std::string good = token_for(c, payload());
    for (size_t bit : {0u, 7u, 100u, 255u, 511u}) {
      EXPECT_EQ(check(with_flipped_signature_bit(good, bit)), AuthError::bad_signature) << c.name << " bit " << bit;
    }
    const std::string sig = sign_raw(c.signer, good.substr(0, good.rfind('.')));
    EXPECT_EQ(check(with_signature(good, sig.substr(0, sig.size() - 1))), AuthError::bad_signature) << c.name;
    EXPECT_EQ(check(with_signature(good, sig + std::string(1, '\0'))), AuthError::bad_signature) << c.name;
    EXPECT_EQ(check(with_signature(good, "")), AuthError::bad_signature) << c.name;
    EXPECT_EQ(check(with_signature(good, std::string(sig.size(), '\0'))), AuthError::bad_signature) << c.name;
  }
}

TEST_F(JwtTest, EcdsaSignatureMustBeRawRAndSOfExactLength) {
  const Case es{"ES256", {"ES256", "", keys.ec256.get()}, ""};
  const std::string good = token_for(es, payload());
  const std::string input = good.substr(0, good.rfind('.'));
  const std::string raw = sign_raw(es.signer, input);
  ASSERT_EQ(raw.size(), 64u);
  // R || S with a leading zero byte added to either half: 65 bytes.
  EXPECT_EQ(check(with_signature(good, std::string(1, '\0') + raw)), AuthError::bad_signature);
  // The same signature DER-encoded (what OpenSSL produces) is not a JWS signature.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  ASSERT_EQ(EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, keys.ec256.get(), nullptr), 1);
  ASSERT_EQ(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const uint8_t*>(input.data()), input.size()), 1);
  std::string der(len, '\0');
  ASSERT_EQ(EVP_DigestSign(ctx, reinterpret_cast<uint8_t*>(der.data()), &len,
                           reinterpret_cast<const uint8_t*>(input.data()), input.size()), 1);
  EVP_MD_CTX_free(ctx);
  der.resize(len);
  EXPECT_EQ(check(with_signature(good, der)), AuthError::bad_signature);
  // An ES384-sized signature on an ES256 token.
  EXPECT_EQ(check(with_signature(good, raw + std::string(32, '\x01'))), AuthError::bad_signature);
}

TEST_F(JwtTest, AlgNoneIsRefusedWithOrWithoutSignature) {
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string h = b64url(std::string("{\"alg\":\"") + alg + "\",\"typ\":\"JWT\"}");
    const std::string p = b64url(payload());
    EXPECT_EQ(check(h + "." + p + "."), AuthError::unsupported_alg) << alg;
    EXPECT_EQ(check(h + "." + p + "." + b64url("sig")), AuthError::unsupported_alg) << alg;
    // With the HS256 key's kid-less selection in play and a real HMAC as signature.
    const Signer hs{"HS256", keys.hs_secret, nullptr};
    EXPECT_EQ(check(h + "." + p + "." + b64url(sign_raw(hs, h + "." + p))), AuthError::unsupported_alg) << alg;
  }
}

TEST_F(JwtTest, UnknownAlgorithmsAreUnsupported) {
  for (const char* alg : {"PS256", "ES512", "HS1024", "hs256", "RS256 ", "", "Ed25519", "RSA-OAEP", "dir"}) {
    const std::string h = b64url(std::string("{\"alg\":\"") + alg + "\"}");
    EXPECT_EQ(check(h + "." + b64url(payload()) + "." + b64url("x")), AuthError::unsupported_alg) << alg;
  }
}

// The classic confusion: the attacker takes the server's RSA public key (it
// is public) and signs an HS256 token with its PEM text as the HMAC secret.
TEST_F(JwtTest, Hs256SignedWithTheRsaPublicKeyPemIsRefused) {
  const std::string pem = public_pem(keys.rsa.get());
  const Signer attacker{"HS256", pem, nullptr};
  // No kid: the RSA key is RS256, so it is never an HS256 candidate.
  AuthConfig rsa_only;
  rsa_only.keys = {pem_key("RS256", keys.rsa_pem)};
  auto rv = must_create(rsa_only);
  EXPECT_EQ(rv->verify(make_token(attacker, header_for("HS256"), payload()), kNow, nullptr), AuthError::unknown_key);
  // With the RSA key's kid (config and JWKS).
  rsa_only.keys = {pem_key("RS256", keys.rsa_pem, "rsa-1")};
  rsa_only.jwks_file = dir.write("rsa.jwks", "{\"keys\":[" + public_jwk(keys.rsa_other.get(), "rsa-2", "") + "]}");
  rv = must_create(rsa_only);
  EXPECT_EQ(rv->verify(make_token(attacker, header_for("HS256", "rsa-1"), payload()), kNow, nullptr),
            AuthError::unknown_key);
  const Signer attacker2{"HS256", public_pem(keys.rsa_other.get()), nullptr};
  EXPECT_EQ(rv->verify(make_token(attacker2, header_for("HS256", "rsa-2"), payload()), kNow, nullptr),
            AuthError::unknown_key);
  // Also with the DER form and the raw modulus as the secret, against the
  // verifier that also has HS256 keys: a plain bad signature.
  EXPECT_EQ(v->verify(make_token(attacker, header_for("HS256"), payload()), kNow, nullptr), AuthError::bad_signature);
  const Signer attacker3{"HS256", bn_param(keys.rsa.get(), "n"), nullptr};
  EXPECT_EQ(v->verify(make_token(attacker3, header_for("HS256"), payload()), kNow, nullptr), AuthError::bad_signature);
}

TEST_F(JwtTest, AlgMustBeTheKeysAlg) {
  // Each (token alg, kid) names a key whose alg differs; the signature is
  // made with the right private key, so only the alg rule stops it.
  const struct {
    const char* alg;
    const char* kid;
    EVP_PKEY* key;
    std::string secret;
  } cases[] = {
      {"RS256", "rs384", keys.rsa.get(), ""},     // RS384 key, RS256 token
      {"RS512", "rs384", keys.rsa.get(), ""},
      {"ES384", "jwks-ec", keys.ec256.get(), ""}, // P-256 key: only ES256
      {"HS256", "hs384", nullptr, keys.hs_secret + "-384"},
      {"HS512", "hs384", nullptr, keys.hs_secret + "-384"},
      {"EdDSA", "rs384", keys.ed25519.get(), ""},
      {"RS256", "jwks-oct", keys.rsa.get(), ""},  // oct accepts HS* only
      {"HS256", "jwks-rsa", nullptr, keys.hs_secret},
      {"HS256", "jwks-ed", nullptr, keys.hs_secret},
  };
  for (const auto& c : cases) {
    const Signer s{c.alg, c.secret, c.key};
    EXPECT_EQ(check(make_token(s, header_for(c.alg, c.kid), payload())), AuthError::unknown_key) << c.alg << " " << c.kid;
  }
  // Without kid: ES384 is configured only with a kid, so no kid-less candidate.
  const Signer es384{"ES384", "", keys.ec384.get()};
  EXPECT_EQ(check(make_token(es384, header_for("ES384"), payload())), AuthError::unknown_key);
  // A kid-less RS256 token signed by a key that is not the configured one.
  const Signer wrong_rsa{"RS256", "", keys.rsa_other.get()};
  EXPECT_EQ(check(make_token(wrong_rsa, header_for("RS256"), payload())), AuthError::bad_signature);
}

TEST_F(JwtTest, KidSelectsExactlyOneKey) {
  const Signer hs{"HS256", keys.hs_secret, nullptr};
  EXPECT_EQ(check(make_token(hs, header_for("HS256", "no-such-kid"), payload())), AuthError::unknown_key);
  EXPECT_EQ(check(make_token(hs, "{\"alg\":\"HS256\",\"kid\":\"\"}", payload())), AuthError::unknown_key);
  EXPECT_EQ(check(make_token(hs, "{\"alg\":\"HS256\",\"kid\":7}", payload())), AuthError::malformed);
  EXPECT_EQ(check(make_token(hs, "{\"alg\":\"HS256\",\"kid\":null}", payload())), AuthError::malformed);
  // With a kid, the kid-less HS256 key is not tried even though it would verify.
  EXPECT_EQ(check(make_token(hs, header_for("HS256", "hs384"), payload())), AuthError::unknown_key);
  // A JWKS key that is usable only for encryption is not loaded.
  const Signer rsa{"RS256", "", keys.rsa.get()};
  EXPECT_EQ(check(make_token(rsa, header_for("RS256", "jwks-enc"), payload())), AuthError::unknown_key);
  // The kid of the JWKS RSA key with the config key's private half: wrong key.
  EXPECT_EQ(check(make_token(rsa, header_for("RS256", "jwks-rsa"), payload())), AuthError::bad_signature);
}

TEST_F(JwtTest, KidLessKeysOfOneAlgAreAllTried) {
  AuthConfig cfg;
  cfg.keys = {hs_key("HS256", "old-secret-old-secret-old-secret"), hs_key("HS256", "new-secret-new-secret-new-secret"),
              pem_key("RS256", keys.rsa_other_pem), pem_key("RS256", keys.rsa_pem)};
  auto rv = must_create(cfg);
  for (const char* secret : {"old-secret-old-secret-old-secret", "new-secret-new-secret-new-secret"}) {
    EXPECT_EQ(rv->verify(make_token({"HS256", secret, nullptr}, header_for("HS256"), payload()), kNow, nullptr),
              AuthError::none);
  }
  for (EVP_PKEY* k : {keys.rsa.get(), keys.rsa_other.get()}) {
    EXPECT_EQ(rv->verify(make_token({"RS256", "", k}, header_for("RS256"), payload()), kNow, nullptr), AuthError::none);
  }
  EXPECT_EQ(rv->verify(make_token({"HS256", "third", nullptr}, header_for("HS256"), payload()), kNow, nullptr),
            AuthError::bad_signature);
}

TEST_F(JwtTest, SizeLimitComesFirst) {
  AuthConfig cfg;
  cfg.keys = {hs_key("HS256", keys.hs_secret)};
  const Signer hs{"HS256", keys.hs_secret, nullptr};
  const std::string token = make_token(hs, header_for("HS256"), payload());
  cfg.max_token_bytes = static_cast<uint32_t>(token.size());
  auto rv = must_create(cfg);
  EXPECT_EQ(rv->verify(token, kNow, nullptr), AuthError::none);
  const std::string longer = make_token(hs, header_for("HS256"), payload(",\"x\":1"));
  EXPECT_EQ(rv->verify(longer, kNow, nullptr), AuthError::too_large);
  EXPECT_EQ(rv->verify(std::string(token.size() + 1, '.'), kNow, nullptr), AuthError::too_large);
  EXPECT_EQ(rv->verify(std::string(1 << 20, 'A'), kNow, nullptr), AuthError::too_large);
  EXPECT_EQ(rv->verify("", kNow, nullptr), AuthError::missing);
  // The default is 8 KiB.
  EXPECT_EQ(check(std::string(8193, 'a')), AuthError::too_large);
  EXPECT_EQ(check(std::string(8192, 'a')), AuthError::malformed);
}

TEST_F(JwtTest, MalformedShapesAreRefused) {
  const Signer hs{"HS256", keys.hs_secret, nullptr};
  const std::string good = make_token(hs, header_for("HS256"), payload());
  ASSERT_EQ(check(good), AuthError::none);
  const std::string h = segment(good, 0), p = segment(good, 1), s = segment(good, 2);
  const std::string bad[] = {
      "abc",
      h,
      h + "." + p,
      h + "." + p + "." + s + ".",
      h + "." + p + "." + s + "." + s,
      "." + p + "." + s,
      ".." ,
      "...",
      h + "=." + p + "." + s,                // padding
      h + "." + p + "=." + s,
      h + "." + p + "." + s + "=",
      h + "." + p + "." + s + "==",
      h + " ." + p + "." + s,                // whitespace
      " " + good,
      good + "\n",
      h + "." + p + "." + s.substr(0, s.size() - 1) + "+",  // standard alphabet
      h + "." + p + "." + s.substr(0, s.size() - 1) + "/",
      h + "." + p + "." + s.substr(0, s.size() - 2),          // 43 -> 41 chars: 41 % 4 == 1
      h.substr(0, h.size() - 1) + "." + p + "." + s,
      std::string(h).insert(4, "*") + "." + p + "." + s,
      "Bearer " + good,
  };
  for (const std::string& t : bad) EXPECT_EQ(check(t), AuthError::malformed) << t;
  // An empty payload is valid base64url (of nothing); the signature does not cover it.
  EXPECT_EQ(check(h + ".." + s), AuthError::bad_signature);
}

TEST_F(JwtTest, HeaderMustBeAnObjectWithOneStringAlgAndNoCrit) {
  const Signer hs{"HS256", keys.hs_secret, nullptr};
  const char* headers[] = {
      "",
      "{",
      "not json",
      "[\"HS256\"]",
      "\"HS256\"",
      "{}",
      "{\"typ\":\"JWT\"}",
      "{\"alg\":256}",
      "{\"alg\":null}",
      "{\"alg\":[\"HS256\"]}",
      "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
      "{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"a\"}",
      "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}",
      "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}",
      "{\"alg\":\"HS256\"} trailing",
      "{\"alg\":\"HS256\"}{}",
      "{\"alg\":\"HS\\u0032\\u0035\\u0036\",\"x\":\"\xff\"}",  // invalid UTF-8
  };
  for (const char* hdr : headers) {
    EXPECT_EQ(check(make_token(hs, hdr, payload())), AuthError::malformed) << hdr;
  }
  // Escapes in the alg string are JSON, so this is HS256; unknown members and
  // embedded keys are ignored.
  EXPECT_EQ(check(make_token(hs, "{\"alg\":\"HS\\u0032\\u0035\\u0036\"}", payload())), AuthError::none);
  EXPECT_EQ(check(make_token(hs, " {\"typ\":\"at+jwt\", \"alg\" : \"HS256\", \"x\":{\"y\":[1,2]}} ", payload())),
            AuthError::none);
  EXPECT_EQ(check(make_token(hs, "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"},\"jku\":\"http://x\"}",
                             payload())),
            AuthError::none);
}

TEST_F(JwtTest, PayloadMustBeAJsonObject) {
  const Signer hs{"HS256", keys.hs_secret, nullptr};
  for (const char* p : {"", "null", "[]", "\"sub\"", "{\"sub\":\"a\"", "{\"sub\":\"a\"}x", "42", "{\"sub\":\"\xc3\"}"}) {
    EXPECT_EQ(check(make_token(hs, header_for("HS256"), p)), AuthError::malformed) << p;
  }
}

TEST_F(JwtTest, SignatureIsCheckedBeforeThePayloadIsParsed) {
  // A garbage (but base64url) payload under a wrong signature: bad_signature.
  const Signer hs{"HS256", "not the secret", nullptr};
  EXPECT_EQ(check(make_token(hs, header_for("HS256"), "not json")), AuthError::bad_signature);
}

TEST_F(JwtTest, IdentityIsLeftAloneOnFailureAndOutMayBeNull) {
  const Signer hs{"HS256", keys.hs_secret, nullptr};
  Identity id;
  id.user_id = "before";
  id.channels = {"c"};
  id.any_channel = false;
  EXPECT_EQ(v->verify(make_token(hs, header_for("HS256"), payload(",\"nbf\":" + std::to_string(kNow + 3600))), kNow, &id),
            AuthError::not_yet_valid);
  EXPECT_EQ(id.user_id, "before");
  EXPECT_EQ(id.channels.size(), 1u);
  EXPECT_FALSE(id.any_channel);
  EXPECT_EQ(v->verify(make_token(hs, header_for("HS256"), payload()), kNow, nullptr), AuthError::none);
  // A successful verify replaces everything, channels included.
  EXPECT_EQ(v->verify(make_token(hs, header_for("HS256"), payload()), kNow, &id), AuthError::none);
  EXPECT_EQ(id.user_id, "user-1");
  EXPECT_TRUE(id.channels.empty());
  EXPECT_TRUE(id.any_channel);
}

TEST_F(JwtTest, EveryPrefixAndSuffixOfAValidTokenFailsCleanly) {
  for (const Case& c : every_case(keys)) {
    const std::string good = token_for(c, payload());
    for (size_t n = 0; n < good.size(); ++n) {
      EXPECT_NE(check(good.substr(0, n)), AuthError::none) << c.name << " prefix " << n;
      EXPECT_NE(check(good.substr(n + 1)), AuthError::none) << c.name << " suffix " << n;
    }
  }
}

TEST_F(JwtTest, ReasonsAreShortAndSayNothingAboutKeys) {
  EXPECT_EQ(reason(AuthError::expired), "token expired");
  EXPECT_EQ(reason(AuthError::unknown_key), reason(AuthError::bad_signature));
  for (int e = 0; e <= static_cast<int>(AuthError::missing_claim); ++e) {
    const std::string_view r = reason(static_cast<AuthError>(e));
    EXPECT_FALSE(r.empty()) << e;
    EXPECT_LT(r.size(), 40u) << e;
    EXPECT_EQ(r.find("key"), std::string_view::npos) << r;
    EXPECT_EQ(r.find("kid"), std::string_view::npos) << r;
  }
}

TEST_F(JwtTest, VerifyIsThreadSafe) {
  const std::vector<Case> cases = every_case(keys);
  std::vector<std::string> tokens;
  for (const Case& c : cases) tokens.push_back(token_for(c, payload(",\"channels\":[\"room-*\"]")));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 40; ++round) {
        for (size_t i = 0; i < tokens.size(); ++i) {
          const std::string& tok = tokens[(i + static_cast<size_t>(t)) % tokens.size()];
          Identity id;
          if (v->verify(tok, kNow, &id) != AuthError::none || id.channels.size() != 1) ++failures;
          if (v->verify(with_flipped_signature_bit(tok, static_cast<size_t>(round)), kNow, &id) != AuthError::bad_signature) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace ringcast::auth
