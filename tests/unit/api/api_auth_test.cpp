// API keys: the Bearer header, digest compare against every configured key.
#include "api/api_auth.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ringcast::api {
namespace {

http::RequestHead parse(const std::string& raw) {
  http::RequestHead h;
  EXPECT_EQ(http::parse_request_head(raw, h), http::HeadError::none) << raw;
  return h;
}

TEST(ApiAuth, BearerToken) {
  std::string_view t;
  ASSERT_TRUE(ApiKeys::bearer_token("Bearer abc", &t));
  EXPECT_EQ(t, "abc");
  ASSERT_TRUE(ApiKeys::bearer_token("bearer   abc.def ", &t));
  EXPECT_EQ(t, "abc.def");
  ASSERT_TRUE(ApiKeys::bearer_token("BEARER x", &t));
  EXPECT_EQ(t, "x");
  for (const char* bad : {"", "Bearer", "Bearer ", "Bearer    ", "Bearerabc", "Basic abc", "Token abc", " Bearer abc"})
    EXPECT_FALSE(ApiKeys::bearer_token(bad, &t)) << bad;
}

TEST(ApiAuth, AcceptsOnlyConfiguredKeys) {
  const ApiKeys keys({"secret-one", "", "second-key-that-is-longer"});
  EXPECT_EQ(keys.size(), 2u);  // the empty key is ignored
  EXPECT_TRUE(keys.accepts_key("secret-one"));
  EXPECT_TRUE(keys.accepts_key("second-key-that-is-longer"));
  for (const char* bad : {"", "secret-on", "secret-one ", "secret-onex", "SECRET-ONE", "second-key", "x"})
    EXPECT_FALSE(keys.accepts_key(bad)) << bad;
}

TEST(ApiAuth, NoKeysRefuseEverything) {
  const ApiKeys none({});
  EXPECT_FALSE(none.accepts_key(""));
  EXPECT_FALSE(none.accepts_key("anything"));
  const ApiKeys empty({""});
  EXPECT_FALSE(empty.accepts_key(""));
}

TEST(ApiAuth, Header) {
  const ApiKeys keys({"k1"});
  EXPECT_TRUE(keys.accepts(parse("GET / HTTP/1.1\r\nAuthorization: Bearer k1\r\n\r\n")));
  EXPECT_TRUE(keys.accepts(parse("GET / HTTP/1.1\r\nauthorization: bearer k1\r\n\r\n")));
  EXPECT_FALSE(keys.accepts(parse("GET / HTTP/1.1\r\n\r\n")));
  EXPECT_FALSE(keys.accepts(parse("GET / HTTP/1.1\r\nAuthorization: Bearer k2\r\n\r\n")));
  EXPECT_FALSE(keys.accepts(parse("GET / HTTP/1.1\r\nAuthorization: k1\r\n\r\n")));
  // Two Authorization headers: ambiguous, refused even if one is right.
  EXPECT_FALSE(keys.accepts(parse("GET / HTTP/1.1\r\nAuthorization: Bearer k1\r\nAuthorization: Bearer k1\r\n\r\n")));
}

}  // namespace
}  // namespace ringcast::api
