#include "auth/signature.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>

#include <random>
#include <string>
#include <vector>

namespace ringcast::auth {
namespace {

using Bytes = std::vector<uint8_t>;

// OpenSSL's own DER encoding of (r, s): the oracle.
Bytes openssl_der(const Bytes& raw) {
  const int half = static_cast<int>(raw.size() / 2);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), half, nullptr), BN_bin2bn(raw.data() + half, half, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

Bytes ours(const Bytes& raw) {
  uint8_t der[kMaxEcdsaDer];
  const size_t n = ecdsa_raw_to_der(raw.data(), raw.size(), der);
  return Bytes(der, der + n);
}

TEST(EcdsaRawToDer, MatchesOpenSslForRandomAndEdgeValues) {
  std::mt19937 rng(3);
  for (size_t len : {64u, 96u}) {
    for (int round = 0; round < 2000; ++round) {
      Bytes raw(len);
      for (auto& b : raw) b = static_cast<uint8_t>(rng());
      // Edge shapes: leading zero bytes, top bit set / clear, all zero, all 0xff.
      const size_t half = len / 2;
      switch (round % 8) {
        case 1: std::fill(raw.begin(), raw.begin() + 5, 0); break;
        case 2: raw[0] |= 0x80; raw[half] |= 0x80; break;
        case 3: raw[0] &= 0x7f; raw[half] = 0; raw[half + 1] = 0x80; break;
        case 4: std::fill(raw.begin(), raw.begin() + static_cast<ptrdiff_t>(half), 0); break;
        case 5: std::fill(raw.begin(), raw.end(), 0xff); break;
        case 6: std::fill(raw.begin() + static_cast<ptrdiff_t>(half), raw.end(), 0); raw.back() = 1; break;
        default: break;
      }
      ASSERT_EQ(ours(raw), openssl_der(raw)) << len << " round " << round;
    }
  }
}

TEST(EcdsaRawToDer, RefusesOtherLengths) {
  uint8_t der[kMaxEcdsaDer];
  Bytes raw(200, 0x42);
  for (size_t len = 0; len < raw.size(); ++len) {
    if (len == 64 || len == 96) continue;
    EXPECT_EQ(ecdsa_raw_to_der(raw.data(), len, der), 0u) << len;
  }
}

TEST(EcdsaRawToDer, LongestOutputFits) {
  Bytes raw(96, 0xff);
  EXPECT_EQ(ours(raw).size(), kMaxEcdsaDer);
}

}  // namespace
}  // namespace ringcast::auth
