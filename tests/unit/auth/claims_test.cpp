// Verifier: registered claims (exp, nbf, iss, aud), the identity claims and
// channel permissions. Every token here is validly signed (HS256), so only
// the claims decide.
#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "auth_test_util.hpp"

namespace ringcast::auth {
namespace {

using namespace test;

class ClaimsTest : public ::testing::Test {
 protected:
  const std::string secret = "claims-test-secret-claims-test-secret";
  AuthConfig cfg = [this] {
    AuthConfig c;
    c.keys = {hs_key("HS256", secret)};
    return c;
  }();

  // Verifies a token with payload `json` under `cfg` at `now`.
  AuthError run(std::string_view json, int64_t now = kNow, Identity* id = nullptr) const {
    auto v = must_create(cfg);
    const std::string token = make_token({"HS256", secret, nullptr}, header_for("HS256"), json);
    Guarded guarded(token);
    return v->verify(guarded.view(), now, id);
  }
  static std::string with(std::string_view members) { return "{\"sub\":\"u\"," + std::string(members) + "}"; }
  static std::string exp_at(int64_t t) { return with("\"exp\":" + std::to_string(t)); }
};

TEST_F(ClaimsTest, ExpiryWithLeeway) {
  cfg.leeway_s = 30;
  EXPECT_EQ(run(exp_at(kNow + 1)), AuthError::none);
  EXPECT_EQ(run(exp_at(kNow)), AuthError::none);        // now == exp: not yet past it
  EXPECT_EQ(run(exp_at(kNow - 30)), AuthError::none);   // within the leeway
  EXPECT_EQ(run(exp_at(kNow - 31)), AuthError::expired);
  EXPECT_EQ(run(exp_at(0)), AuthError::expired);
  EXPECT_EQ(run(exp_at(-5)), AuthError::expired);
  cfg.leeway_s = 0;
  EXPECT_EQ(run(exp_at(kNow)), AuthError::none);
  EXPECT_EQ(run(exp_at(kNow - 1)), AuthError::expired);
}

TEST_F(ClaimsTest, NotBeforeWithLeeway) {
  cfg.leeway_s = 30;
  auto nbf = [](int64_t t) { return "{\"sub\":\"u\",\"exp\":" + std::to_string(kNow + 600) + ",\"nbf\":" + std::to_string(t) + "}"; };
  EXPECT_EQ(run(nbf(kNow)), AuthError::none);
  EXPECT_EQ(run(nbf(kNow + 30)), AuthError::none);  // within the leeway
  EXPECT_EQ(run(nbf(kNow + 31)), AuthError::not_yet_valid);
  EXPECT_EQ(run(nbf(kNow - 1000)), AuthError::none);
  cfg.leeway_s = 0;
  EXPECT_EQ(run(nbf(kNow + 1)), AuthError::not_yet_valid);
}

TEST_F(ClaimsTest, NumericDatesMayBeFractionalOrHuge) {
  cfg.leeway_s = 0;
  EXPECT_EQ(run(with("\"exp\":1700000000.5")), AuthError::none);
  EXPECT_EQ(run(with("\"exp\":1699999999.999")), AuthError::expired);
  EXPECT_EQ(run(with("\"exp\":1.7e9")), AuthError::none);    // == kNow
  EXPECT_EQ(run(with("\"exp\":1.6e9")), AuthError::expired);
  EXPECT_EQ(run(with("\"exp\":1e300")), AuthError::none);
  EXPECT_EQ(run(with("\"exp\":-1e300")), AuthError::expired);
  EXPECT_EQ(run(with("\"exp\":18446744073709551615")), AuthError::none);
  EXPECT_EQ(run(with("\"exp\":9223372036854775807")), AuthError::none);
  EXPECT_EQ(run(with("\"exp\":-9223372036854775808")), AuthError::expired);
  EXPECT_EQ(run(with("\"exp\":1800000000,\"nbf\":1700000000.5")), AuthError::not_yet_valid);
  EXPECT_EQ(run(with("\"exp\":1800000000,\"nbf\":1700000000.0")), AuthError::none);
  EXPECT_EQ(run(with("\"exp\":1800000000,\"nbf\":1e300")), AuthError::not_yet_valid);
  EXPECT_EQ(run(with("\"exp\":1800000000,\"nbf\":-1e300")), AuthError::none);
  // Extreme `now` values do not overflow anything.
  cfg.leeway_s = 4000000000u;
  EXPECT_EQ(run(with("\"exp\":9223372036854775807"), std::numeric_limits<int64_t>::max()), AuthError::none);
  EXPECT_EQ(run(with("\"exp\":-9223372036854775808"), std::numeric_limits<int64_t>::max()), AuthError::expired);
  EXPECT_EQ(run(with("\"exp\":1,\"nbf\":9223372036854775807"), std::numeric_limits<int64_t>::min()),
            AuthError::not_yet_valid);
  Identity id;
  cfg.leeway_s = 0;
  EXPECT_EQ(run(with("\"exp\":1700000100.75"), kNow, &id), AuthError::none);
  EXPECT_EQ(id.exp, 1700000100);
  EXPECT_EQ(run(with("\"exp\":1e300"), kNow, &id), AuthError::none);
  EXPECT_EQ(id.exp, kMaxExp);
  EXPECT_EQ(run(with("\"exp\":18446744073709551615"), kNow, &id), AuthError::none);
  EXPECT_EQ(id.exp, kMaxExp);
}

TEST_F(ClaimsTest, ExpIsRequiredUnlessConfiguredOtherwise) {
  EXPECT_EQ(run("{\"sub\":\"u\"}"), AuthError::missing_claim);
  cfg.require_exp = false;
  Identity id;
  id.exp = 99;
  EXPECT_EQ(run("{\"sub\":\"u\"}", kNow, &id), AuthError::none);
  EXPECT_EQ(id.exp, 0);
  // Present, it is still checked.
  EXPECT_EQ(run(exp_at(kNow - 1000)), AuthError::expired);
}

TEST_F(ClaimsTest, WrongTypesInTimeClaimsAreMalformed) {
  for (const char* bad : {"\"1800000000\"", "null", "true", "[1800000000]", "{}"}) {
    EXPECT_EQ(run(with(std::string("\"exp\":") + bad)), AuthError::malformed) << bad;
    EXPECT_EQ(run(with(std::string("\"exp\":1800000000,\"nbf\":") + bad)), AuthError::malformed) << bad;
  }
  cfg.require_exp = false;
  EXPECT_EQ(run(with("\"exp\":\"soon\"")), AuthError::malformed);
  // Out-of-range numbers are not JSON simdjson accepts.
  EXPECT_EQ(run(with("\"exp\":1e400")), AuthError::malformed);
}

TEST_F(ClaimsTest, RepeatedCheckedClaimsAreMalformed) {
  EXPECT_EQ(run("{\"sub\":\"u\",\"exp\":1800000000,\"exp\":1}"), AuthError::malformed);
  EXPECT_EQ(run("{\"sub\":\"u\",\"exp\":1800000000,\"nbf\":1,\"nbf\":1}"), AuthError::malformed);
  EXPECT_EQ(run("{\"sub\":\"u\",\"sub\":\"admin\",\"exp\":1800000000}"), AuthError::malformed);
  EXPECT_EQ(run("{\"sub\":\"u\",\"exp\":1800000000,\"channels\":[],\"channels\":[\"*\"]}"), AuthError::malformed);
  cfg.issuer = "https://issuer";
  EXPECT_EQ(run("{\"sub\":\"u\",\"exp\":1800000000,\"iss\":\"https://issuer\",\"iss\":\"https://issuer\"}"),
            AuthError::malformed);
  // Claims nobody checks may repeat.
  cfg.issuer.clear();
  EXPECT_EQ(run("{\"sub\":\"u\",\"exp\":1800000000,\"x\":1,\"x\":2}"), AuthError::none);
}

TEST_F(ClaimsTest, Issuer) {
  const std::string exp = "\"exp\":1800000000";
  EXPECT_EQ(run(with(exp + ",\"iss\":42")), AuthError::none);  // not configured: not looked at
  cfg.issuer = "https://auth.example.com/";
  EXPECT_EQ(run(with(exp + ",\"iss\":\"https://auth.example.com/\"")), AuthError::none);
  EXPECT_EQ(run(with(exp + ",\"iss\":\"https://auth.example.com\"")), AuthError::wrong_issuer);
  EXPECT_EQ(run(with(exp + ",\"iss\":\"https://AUTH.example.com/\"")), AuthError::wrong_issuer);
  EXPECT_EQ(run(with(exp + ",\"iss\":\"\"")), AuthError::wrong_issuer);
  EXPECT_EQ(run(with(exp)), AuthError::missing_claim);
  EXPECT_EQ(run(with(exp + ",\"iss\":42")), AuthError::malformed);
  EXPECT_EQ(run(with(exp + ",\"iss\":[\"https://auth.example.com/\"]")), AuthError::malformed);
}

TEST_F(ClaimsTest, AudienceStringOrArray) {
  const std::string exp = "\"exp\":1800000000";
  EXPECT_EQ(run(with(exp + ",\"aud\":{}")), AuthError::none);  // not configured: not looked at
  cfg.audience = "ringcast";
  EXPECT_EQ(run(with(exp + ",\"aud\":\"ringcast\"")), AuthError::none);
  EXPECT_EQ(run(with(exp + ",\"aud\":[\"other\",\"ringcast\"]")), AuthError::none);
  EXPECT_EQ(run(with(exp + ",\"aud\":[\"ringcast\"]")), AuthError::none);
  EXPECT_EQ(run(with(exp + ",\"aud\":\"other\"")), AuthError::wrong_audience);
  EXPECT_EQ(run(with(exp + ",\"aud\":[\"other\",\"ringcast2\"]")), AuthError::wrong_audience);
  EXPECT_EQ(run(with(exp + ",\"aud\":[]")), AuthError::wrong_audience);
  EXPECT_EQ(run(with(exp + ",\"aud\":\"ringcas\"")), AuthError::wrong_audience);
  EXPECT_EQ(run(with(exp)), AuthError::missing_claim);
  EXPECT_EQ(run(with(exp + ",\"aud\":1")), AuthError::malformed);
  EXPECT_EQ(run(with(exp + ",\"aud\":null")), AuthError::malformed);
  EXPECT_EQ(run(with(exp + ",\"aud\":[\"ringcast\",2]")), AuthError::malformed);
  EXPECT_EQ(run(with(exp + ",\"aud\":[[\"ringcast\"]]")), AuthError::malformed);
}

TEST_F(ClaimsTest, ChecksComeInOrder) {
  cfg.issuer = "iss";
  cfg.audience = "aud";
  // Expired beats a wrong issuer, which beats a wrong audience, which beats a missing sub.
  EXPECT_EQ(run("{\"exp\":1,\"iss\":\"x\",\"aud\":\"x\"}"), AuthError::expired);
  EXPECT_EQ(run("{\"exp\":1800000000,\"iss\":\"x\",\"aud\":\"x\"}"), AuthError::wrong_issuer);
  EXPECT_EQ(run("{\"exp\":1800000000,\"iss\":\"iss\",\"aud\":\"x\"}"), AuthError::wrong_audience);
  EXPECT_EQ(run("{\"exp\":1800000000,\"iss\":\"iss\",\"aud\":\"aud\"}"), AuthError::missing_claim);
  EXPECT_EQ(run("{\"exp\":1800000000,\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"u\"}"), AuthError::none);
}

TEST_F(ClaimsTest, DefaultIdentityClaims) {
  Identity id;
  ASSERT_EQ(run("{\"sub\":\"user-42\",\"tenant_id\":\"acme\",\"agent_id\":\"bot-7\",\"exp\":1800000000,"
                "\"channels\":[\"news\",\"room-*\"],\"name\":\"ignored\"}",
                kNow, &id),
            AuthError::none);
  EXPECT_EQ(id.user_id, "user-42");
  EXPECT_EQ(id.tenant_id, "acme");
  EXPECT_EQ(id.agent_id, "bot-7");
  EXPECT_EQ(id.channels, (std::vector<std::string>{"news", "room-*"}));
  EXPECT_FALSE(id.any_channel);
  EXPECT_EQ(id.exp, 1800000000);

  ASSERT_EQ(run("{\"sub\":\"u\\u00e9\\n\",\"exp\":1800000000}", kNow, &id), AuthError::none);
  EXPECT_EQ(id.user_id, "u\xc3\xa9\n");  // JSON escapes decoded
  EXPECT_EQ(id.tenant_id, "");
  EXPECT_EQ(id.agent_id, "");
  EXPECT_TRUE(id.channels.empty());
  EXPECT_TRUE(id.any_channel);
}

TEST_F(ClaimsTest, UserClaimMustBeANonEmptyString) {
  const std::string exp = "\"exp\":1800000000";
  EXPECT_EQ(run("{" + exp + "}"), AuthError::missing_claim);
  for (const char* bad : {"42", "null", "\"\"", "[\"u\"]", "{}", "true"}) {
    EXPECT_EQ(run("{" + exp + ",\"sub\":" + bad + "}"), AuthError::missing_claim) << bad;
  }
}

TEST_F(ClaimsTest, OtherIdentityClaimsMustBeStringsWhenPresent) {
  for (const char* claim : {"tenant_id", "agent_id"}) {
    for (const char* bad : {"42", "null", "[\"a\"]", "{}", "false"}) {
      EXPECT_EQ(run(with(std::string("\"exp\":1800000000,\"") + claim + "\":" + bad)), AuthError::malformed)
          << claim << " " << bad;
    }
    EXPECT_EQ(run(with(std::string("\"exp\":1800000000,\"") + claim + "\":\"\"")), AuthError::none);
  }
  for (const char* bad : {"\"news\"", "null", "42", "{}", "[1]", "[\"a\",null]", "[[\"a\"]]"}) {
    EXPECT_EQ(run(with(std::string("\"exp\":1800000000,\"channels\":") + bad)), AuthError::malformed) << bad;
  }
  Identity id;
  ASSERT_EQ(run(with("\"exp\":1800000000,\"channels\":[]"), kNow, &id), AuthError::none);
  EXPECT_FALSE(id.any_channel);  // present and empty: no channel at all
  EXPECT_FALSE(channel_allowed(id, "news"));
}

TEST_F(ClaimsTest, CustomClaimNames) {
  cfg.user_claim = "uid";
  cfg.tenant_claim = "org";
  cfg.agent_claim = "https://example.com/agent";
  cfg.channels_claim = "rooms";
  Identity id;
  ASSERT_EQ(run("{\"uid\":\"u-9\",\"org\":\"o-1\",\"https://example.com/agent\":\"a-3\",\"rooms\":[\"lobby\"],"
                "\"sub\":\"not-this\",\"tenant_id\":\"nor-this\",\"channels\":\"not an array: not looked at\","
                "\"exp\":1800000000}",
                kNow, &id),
            AuthError::none);
  EXPECT_EQ(id.user_id, "u-9");
  EXPECT_EQ(id.tenant_id, "o-1");
  EXPECT_EQ(id.agent_id, "a-3");
  EXPECT_EQ(id.channels, std::vector<std::string>{"lobby"});
  EXPECT_EQ(run("{\"sub\":\"u\",\"exp\":1800000000}"), AuthError::missing_claim);  // uid absent

  // One claim may feed two fields.
  cfg.user_claim = "sub";
  cfg.tenant_claim = "sub";
  ASSERT_EQ(run("{\"sub\":\"same\",\"exp\":1800000000}", kNow, &id), AuthError::none);
  EXPECT_EQ(id.user_id, "same");
  EXPECT_EQ(id.tenant_id, "same");
}

TEST(ChannelAllowed, Patterns) {
  Identity any;
  EXPECT_TRUE(channel_allowed(any, "anything"));
  EXPECT_TRUE(channel_allowed(any, ""));

  Identity id;
  id.any_channel = false;
  EXPECT_FALSE(channel_allowed(id, "news"));
  id.channels = {"news", "room-*", "tenant/acme/*", "exact*not", ""};
  EXPECT_TRUE(channel_allowed(id, "news"));
  EXPECT_FALSE(channel_allowed(id, "news2"));
  EXPECT_FALSE(channel_allowed(id, "new"));
  EXPECT_FALSE(channel_allowed(id, "NEWS"));
  EXPECT_TRUE(channel_allowed(id, "room-"));
  EXPECT_TRUE(channel_allowed(id, "room-42"));
  EXPECT_FALSE(channel_allowed(id, "room"));
  EXPECT_FALSE(channel_allowed(id, "xroom-1"));
  EXPECT_TRUE(channel_allowed(id, "tenant/acme/orders"));
  EXPECT_FALSE(channel_allowed(id, "tenant/acme"));
  EXPECT_FALSE(channel_allowed(id, "tenant/other/orders"));
  EXPECT_TRUE(channel_allowed(id, "exact*not"));   // '*' only counts at the end
  EXPECT_FALSE(channel_allowed(id, "exactly-not"));

  id.channels = {"*"};
  EXPECT_TRUE(channel_allowed(id, "anything"));
  EXPECT_TRUE(channel_allowed(id, ""));
}

}  // namespace
}  // namespace ringcast::auth
