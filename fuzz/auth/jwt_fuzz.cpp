// libFuzzer target for the auth layer: Verifier::verify on hostile tokens,
// the claims of validly signed ones, and JWKS documents.
//
// Input: byte 0 chooses the mode, the rest is its data.
//   mode % 4 == 0  token: the data is a token, verified as is by two
//                  verifiers (default claims; issuer/audience/custom claims).
//   mode % 4 == 1  signed: the data is "HEADER\nPAYLOAD" (raw JSON text, the
//                  first '\n' splits). The target base64url-encodes both and
//                  signs them with the HMAC secret every HS key shares
//                  (SHA-256/384/512 by (mode >> 2) % 3), so the header rules
//                  and the claims are reached. `now` moves with mode >> 4.
//   mode % 4 == 2  raw: "HEADER\nPAYLOAD\nSIGNATURE": like signed, but the
//                  signature bytes are the input's (RSA/ECDSA/EdDSA checks
//                  on arbitrary signatures, the R||S -> DER conversion).
//   mode % 4 == 3  jwks: the data is a JWKS document for parse_jwks.
//
// Checks:
//  * reason() is never empty; verifying twice gives the same answer;
//  * an accepted token has exactly two dots, is within max_token_bytes, and
//    has a non-empty user id equal to the payload's user claim (parsed here
//    independently), and an exp (if any) no earlier than now - leeway;
//  * an accepted token's signature, changed in one bit, is refused;
//  * channel_allowed agrees with the channel list it was given;
//  * parse_jwks keys have a kid and an alg set of exactly one key kind.
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "../fuzz_check.hpp"
#include "auth/alg.hpp"
#include "auth/base64url.hpp"
#include "auth/jwt.hpp"
#include "auth/keys.hpp"

namespace {

using namespace ringcast;
using namespace ringcast::auth;

constexpr int64_t kNow = 1700000000;
constexpr uint32_t kLeeway = 30;
constexpr std::string_view kSecret = "fuzz-hmac-secret-0123456789abcdef";

// Throwaway public keys (their private halves signed the seed corpus and were
// then discarded).
constexpr std::string_view kRsaPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1TNqFxStTQrXiTh9hTaV\n"
    "CEJxk9nSfUkRV+aT4XR8xNj8XLOXIQe5vVT9aIoMbMXXwTvUHeJW343tLdrBCLy/\n"
    "hKo6iLZlxRH0mvf9MxGXcRdpJWJaXXtHC5IU/58YMswMfaAc0eSH2ENZ13SmE9fn\n"
    "v3nk3wE2KJKKC5r93oqSC3MijFiaorCgTO7+1HmUOlA+Gdj3/bZElfvNNkTN8ieR\n"
    "xE/CKXcZf4stwXxj+CkvPagmyS8y/GAbuAZLjCZZHz1tfwq8p/OGZdetAcYzxFeZ\n"
    "tDFsyR66x8b5Nd0Te3grf2rjSI0oZCsWHwyDpbyWm3SUsYsO/vir9rNjEaUQPP4J\n"
    "BwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kEc256Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAET6pjfJne0B0HLLILd3dwuYAUUpfc\n"
    "xTNq7AInHDQ3INoSG7c8OPiCGAWnneREihU+pQm/zmICzzSKCFvaufBoAQ==\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kEc384Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEhG0uHFo/+25+EDNeDMrzMjgW0IMIhB4O\n"
    "1T1Vka69f8NAOsblpz8vIv9bPDZrL41RpX3PcS0dykoKDAOu+qevM5vQoD1D0KeO\n"
    "vP1Gtl4VzvxRUwGG4/Ym+ct8t4EZZ8kI\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kEd25519Pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEArfNCmqFHb3eDqbsYqN2VvXqDEeuJbkeypVvEDg3bkZU=\n"
    "-----END PUBLIC KEY-----\n";

struct Setup {
  AuthConfig plain;   // default claim names, no iss/aud
  AuthConfig strict;  // iss + aud checked, custom claim names, exp optional
  std::unique_ptr<Verifier> plain_v, strict_v;
};

std::string write_file(const std::string& dir, const char* name, std::string_view text) {
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  std::fclose(f);
  return path;
}

// Built on first use (replay builds have no LLVMFuzzerInitialize); the key
// files live only while create() reads them.
const Setup& setup() {
  static const Setup* s = [] {
    auto* out = new Setup;
    const char* tmp = getenv("TMPDIR");
    std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringcast-jwt-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(dir.data()) != nullptr);
    const std::string rsa = write_file(dir, "rsa.pem", kRsaPem);
    const std::string ec256 = write_file(dir, "ec256.pem", kEc256Pem);
    const std::string ec384 = write_file(dir, "ec384.pem", kEc384Pem);
    const std::string ed = write_file(dir, "ed25519.pem", kEd25519Pem);
    std::string k;
    base64url_append(kSecret, k);
    const std::string jwks = write_file(dir, "keys.jwks",
        "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"" + k + "\"},"
        "{\"kty\":\"oct\",\"kid\":\"oct256\",\"alg\":\"HS256\",\"k\":\"" + k + "\"}]}");
    const std::string secret(kSecret);
    for (AuthConfig* cfg : {&out->plain, &out->strict}) {
      cfg->keys = {
          {"", "HS256", secret, ""},   {"", "HS384", secret, ""},    {"", "HS512", secret, ""},
          {"h256", "HS256", secret, ""}, {"h384", "HS384", secret, ""}, {"h512", "HS512", secret, ""},
          {"", "RS256", "", rsa},      {"r384", "RS384", "", rsa},  {"r512", "RS512", "", rsa},
          {"", "ES256", "", ec256},    {"e384", "ES384", "", ec384}, {"", "EdDSA", "", ed},
      };
      cfg->jwks_file = jwks;
      cfg->leeway_s = kLeeway;
    }
    out->plain.max_token_bytes = 4096;
    out->strict.issuer = "https://issuer.example";
    out->strict.audience = "ringcast";
    out->strict.require_exp = false;
    out->strict.user_claim = "uid";
    out->strict.tenant_claim = "org";
    out->strict.agent_claim = "uid";  // two fields from one claim
    out->strict.channels_claim = "rooms";
    std::string error;
    out->plain_v = Verifier::create(out->plain, &error);
    if (!out->plain_v) std::fprintf(stderr, "jwt_fuzz: %s\n", error.c_str());
    FUZZ_CHECK(out->plain_v != nullptr);
    out->strict_v = Verifier::create(out->strict, &error);
    if (!out->strict_v) std::fprintf(stderr, "jwt_fuzz: %s\n", error.c_str());
    FUZZ_CHECK(out->strict_v != nullptr);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return out;
  }();
  return *s;
}

std::string b64(std::string_view bytes) {
  std::string out;
  base64url_append(bytes, out);
  return out;
}

std::string hmac(const char* md, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  FUZZ_CHECK(EVP_Q_mac(nullptr, "HMAC", nullptr, md, nullptr, kSecret.data(), kSecret.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &len));
  return std::string(reinterpret_cast<char*>(mac), len);
}

// The payload's claim `name` as a string, parsed without the verifier.
bool payload_string(std::string_view payload_json, const char* name, std::string* out) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(payload_json);
  simdjson::dom::element root;
  std::string_view v;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS) return false;
  if (root[name].get_string().get(v) != simdjson::SUCCESS) return false;
  out->assign(v);
  return true;
}

void check_identity(const Identity& id, const AuthConfig& cfg, int64_t now, std::string_view payload_json,
                    bool payload_known) {
  FUZZ_CHECK(!id.user_id.empty());
  FUZZ_CHECK(id.exp <= kMaxExp);
  if (id.exp != 0) FUZZ_CHECK(static_cast<__int128>(now) <= static_cast<__int128>(id.exp) + cfg.leeway_s);
  if (payload_known) {
    std::string user;
    FUZZ_CHECK(payload_string(payload_json, cfg.user_claim.c_str(), &user));
    FUZZ_CHECK(user == id.user_id);
  }
  if (id.any_channel) FUZZ_CHECK(id.channels.empty());
  for (const std::string& c : id.channels) {
    FUZZ_CHECK(channel_allowed(id, c));  // every listed name (and pattern text) is allowed
  }
  if (!id.any_channel && id.channels.empty()) FUZZ_CHECK(!channel_allowed(id, "any"));
}

// Verifies `token` under both verifiers; on success checks the identity and
// that a one-bit change in the signature is refused.
void verify_all(std::string_view token, int64_t now, std::string_view payload_json, bool payload_known) {
  const Setup& s = setup();
  const std::pair<const Verifier*, const AuthConfig*> verifiers[] = {{s.plain_v.get(), &s.plain},
                                                                     {s.strict_v.get(), &s.strict}};
  for (const auto& [v, cfg] : verifiers) {
    Identity id;
    const AuthError e = v->verify(token, now, &id);
    FUZZ_CHECK(!reason(e).empty());
    FUZZ_CHECK(v->verify(token, now, nullptr) == e);
    if (e != AuthError::none) continue;
    FUZZ_CHECK(token.size() <= cfg->max_token_bytes);
    FUZZ_CHECK(std::count(token.begin(), token.end(), '.') == 2);
    check_identity(id, *cfg, now, payload_json, payload_known);
    // The signature binds: flip one bit of its decoded bytes.
    const size_t dot = token.rfind('.');
    const std::string_view sig_b64 = token.substr(dot + 1);
    std::string sig(base64url_decoded_size(sig_b64.size()), '\0');
    FUZZ_CHECK(base64url_decode(sig_b64, reinterpret_cast<uint8_t*>(sig.data())));
    FUZZ_CHECK(!sig.empty());
    sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x10);
    const std::string forged = std::string(token.substr(0, dot + 1)) + b64(sig);
    FUZZ_CHECK(v->verify(forged, now, nullptr) != AuthError::none);
  }
}

void fuzz_jwks(std::string_view json) {
  std::vector<Key> keys;
  std::string error;
  if (!parse_jwks(json, "fuzz", &keys, &error)) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  for (const Key& k : keys) {
    FUZZ_CHECK(!k.kid.empty());
    FUZZ_CHECK(k.algs != 0);
    for (size_t a = 0; a < kAlgCount; ++a) {
      if (k.algs & alg_bit(static_cast<Alg>(a))) FUZZ_CHECK(key_kind(static_cast<Alg>(a)) == k.kind);
    }
    FUZZ_CHECK((k.kind == KeyKind::hmac) == (k.pkey == nullptr));
    FUZZ_CHECK(k.kind != KeyKind::hmac || !k.secret.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const int64_t now = kNow + (int64_t{mode >> 4} - 8) * 40;  // around kNow, steps past the leeway
  switch (mode % 4) {
    case 0:
      verify_all(rest, now, "", false);
      break;
    case 1: {
      const size_t nl = rest.find('\n');
      const std::string_view header = rest.substr(0, nl);
      const std::string_view payload = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      const char* mds[] = {"SHA256", "SHA384", "SHA512"};
      const std::string input = b64(header) + "." + b64(payload);
      verify_all(input + "." + b64(hmac(mds[(mode >> 2) % 3], input)), now, payload, true);
      break;
    }
    case 2: {
      const size_t nl1 = rest.find('\n');
      const size_t nl2 = nl1 == std::string_view::npos ? nl1 : rest.find('\n', nl1 + 1);
      const std::string_view header = rest.substr(0, nl1);
      const std::string_view payload =
          nl1 == std::string_view::npos
              ? std::string_view()
              : rest.substr(nl1 + 1, nl2 == std::string_view::npos ? std::string_view::npos : nl2 - nl1 - 1);
      const std::string_view sig = nl2 == std::string_view::npos ? std::string_view() : rest.substr(nl2 + 1);
      verify_all(b64(header) + "." + b64(payload) + "." + b64(sig), now, payload, true);
      break;
    }
    default:
      fuzz_jwks(rest);
      break;
  }
  return 0;
}
