#include "auth/base64url.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "auth_test_util.hpp"

namespace ringcast::auth {
namespace {

std::string decode(std::string_view in, bool* ok) {
  const size_t n = base64url_decoded_size(in.size());
  if (n == kBase64urlInvalidLength) {
    *ok = false;
    return {};
  }
  test::Guarded guarded(in);  // input read with a fault right after it
  std::string out(n, '\0');
  *ok = base64url_decode(guarded.view(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

std::string encode(std::string_view bytes) {
  std::string out;
  base64url_append(bytes, out);
  return out;
}

TEST(Base64url, Rfc4648Vectors) {
  // RFC 4648 section 10, without the padding.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, b64] : vectors) {
    EXPECT_EQ(encode(plain), b64);
    bool ok = false;
    EXPECT_EQ(decode(b64, &ok), plain);
    EXPECT_TRUE(ok) << b64;
  }
}

TEST(Base64url, UsesTheUrlAlphabet) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(encode(bytes), "-_-_");
  bool ok = false;
  EXPECT_EQ(decode("-_-_", &ok), bytes);
  EXPECT_TRUE(ok);
}

TEST(Base64url, RoundTripsRandomBytesOfEveryLength) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 200; ++len) {
    std::string bytes(len, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string b64 = encode(bytes);
    EXPECT_EQ(b64.size(), base64url_encoded_size(len));
    bool ok = false;
    EXPECT_EQ(decode(b64, &ok), bytes);
    EXPECT_TRUE(ok);
  }
}

TEST(Base64url, RefusesWhatIsNotStrictUnpaddedBase64url) {
  const char* bad[] = {
      "Zg==",     // padding
      "Zm8=",     // padding
      "Z",        // a length no encoding has
      "Zm9vY",    // likewise (5 % 4 == 1)
      "Zm+v",     // standard alphabet
      "Zm/v",
      "Zm9 v",    // whitespace
      "Zm9v\n",
      "Zh",       // unused bits set: "Zg" is the only spelling of "f"
      "Zm9",      // likewise: "Zm8" is the only spelling of "fo"
      "Zm.v",
      "\x80\x81\x82\x83",
  };
  for (const char* b : bad) {
    bool ok = true;
    decode(b, &ok);
    EXPECT_FALSE(ok) << b;
  }
  bool ok = true;
  decode(std::string_view("Zm\0v", 4), &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(base64url_decoded_size(1), kBase64urlInvalidLength);
  EXPECT_EQ(base64url_decoded_size(4), 3u);
  EXPECT_EQ(base64url_decoded_size(6), 4u);
  EXPECT_EQ(base64url_decoded_size(7), 5u);
}

TEST(Base64url, EveryByteValueOutsideTheAlphabetIsRefusedAtEveryPosition) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int c = 0; c < 256; ++c) {
    if (alphabet.find(static_cast<char>(c)) != std::string::npos) continue;
    for (size_t pos = 0; pos < 8; ++pos) {
      std::string in = "AAAAAAAA";
      in[pos] = static_cast<char>(c);
      bool ok = true;
      decode(in, &ok);
      EXPECT_FALSE(ok) << c << " at " << pos;
    }
  }
}

}  // namespace
}  // namespace ringcast::auth
