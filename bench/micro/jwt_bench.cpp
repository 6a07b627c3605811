// JWT verification in verifications/s (items/s), one token per algorithm:
// the whole Verifier::verify (split, base64url, header and payload parsed
// with simdjson, key selection, signature, claims, Identity filled). Keys
// are generated at start (RSA 2048, EC P-256, Ed25519) and their PEM files
// written to a temp folder; the signer is the unit tests' (test-only) one.
// Also what refusing costs: a bad HMAC, a bad RSA signature, and garbage
// that never reaches the crypto.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "../../tests/unit/auth/auth_test_util.hpp"
#include "auth/jwt.hpp"

namespace {

using namespace ringcast;
using namespace ringcast::auth;
using namespace ringcast::auth::test;

// A realistic payload: identity, channels, times, issuer/audience checked.
const std::string kPayload =
    "{\"sub\":\"user-1234567\",\"tenant_id\":\"acme\",\"agent_id\":\"agent-7\",\"iss\":\"https://auth.example.com/\","
    "\"aud\":[\"ringcast\",\"api\"],\"iat\":" + std::to_string(kNow - 60) + ",\"nbf\":" + std::to_string(kNow - 60) +
    ",\"exp\":" + std::to_string(kNow + 3600) + ",\"channels\":[\"news\",\"room-*\",\"tenant/acme/*\"]}";

struct Bench {
  TestPkey rsa = generate_rsa(2048);
  TestPkey ec256 = generate_ec("P-256");
  TestPkey ed25519 = generate_okp("ED25519");
  std::string secret = "bench-secret-bench-secret-bench-secret";
  TempDir dir;
  std::unique_ptr<Verifier> verifier;

  Bench() {
    AuthConfig cfg;
    cfg.issuer = "https://auth.example.com/";
    cfg.audience = "ringcast";
    cfg.keys = {hs_key("HS256", secret), pem_key("RS256", dir.write("rsa.pem", public_pem(rsa.get()))),
                pem_key("ES256", dir.write("ec.pem", public_pem(ec256.get()))),
                pem_key("EdDSA", dir.write("ed.pem", public_pem(ed25519.get())))};
    verifier = must_create(cfg);
  }
  std::string token(const char* alg) const {
    const std::string a(alg);
    const Signer s{a, a == "HS256" ? secret : "", a == "HS256" ? nullptr
                                                   : a == "RS256" ? rsa.get()
                                                   : a == "ES256" ? ec256.get()
                                                                  : ed25519.get()};
    return make_token(s, header_for(a), kPayload);
  }
  static const Bench& get() {
    static const Bench b;
    return b;
  }
};

void run(benchmark::State& state, const std::string& token, AuthError want) {
  const Verifier& v = *Bench::get().verifier;
  Identity id;
  if (v.verify(token, kNow, &id) != want) {
    state.SkipWithError("unexpected verify result");
    return;
  }
  for (auto _ : state) {
    AuthError e = v.verify(token, kNow, &id);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(id);
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel(std::to_string(token.size()) + " B token");
}

void BM_Verify_HS256(benchmark::State& state) { run(state, Bench::get().token("HS256"), AuthError::none); }
void BM_Verify_RS256(benchmark::State& state) { run(state, Bench::get().token("RS256"), AuthError::none); }
void BM_Verify_ES256(benchmark::State& state) { run(state, Bench::get().token("ES256"), AuthError::none); }
void BM_Verify_EdDSA(benchmark::State& state) { run(state, Bench::get().token("EdDSA"), AuthError::none); }

std::string flip_last_signature_char(std::string t) {
  t.back() = t.back() == 'A' ? 'Q' : 'A';  // both keep the unused low bits zero
  return t;
}
void BM_Refuse_HS256_BadSignature(benchmark::State& state) {
  run(state, flip_last_signature_char(Bench::get().token("HS256")), AuthError::bad_signature);
}
void BM_Refuse_RS256_BadSignature(benchmark::State& state) {
  run(state, flip_last_signature_char(Bench::get().token("RS256")), AuthError::bad_signature);
}
void BM_Refuse_Malformed(benchmark::State& state) {
  std::string t = Bench::get().token("HS256");
  t[5] = '*';
  run(state, t, AuthError::malformed);
}

BENCHMARK(BM_Verify_HS256);
BENCHMARK(BM_Verify_RS256);
BENCHMARK(BM_Verify_ES256);
BENCHMARK(BM_Verify_EdDSA);
BENCHMARK(BM_Refuse_HS256_BadSignature);
BENCHMARK(BM_Refuse_RS256_BadSignature);
BENCHMARK(BM_Refuse_Malformed);

}  // namespace
