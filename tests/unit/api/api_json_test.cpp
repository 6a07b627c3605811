// Publish and broadcast bodies, the tenant body, and the published message.
#include "api/api_json.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ringcast::api {
namespace {

class ApiJson : public testing::Test {
 protected:
  bool publish(std::string_view body, bool broadcast = false) {
    req_ = PublishRequest{};
    err_ = FieldError{};
    return parse_publish(parser_, body, broadcast, &req_, &err_);
  }
  void expect_error(std::string_view body, std::string_view code, std::string_view field, bool broadcast = false) {
    EXPECT_FALSE(publish(body, broadcast)) << body;
    EXPECT_EQ(err_.code, code) << body;
    EXPECT_EQ(err_.field, field) << body;
    EXPECT_FALSE(err_.message.empty());
  }

  simdjson::dom::parser parser_;
  PublishRequest req_;
  FieldError err_;
};

TEST_F(ApiJson, PublishMinimal) {
  ASSERT_TRUE(publish(R"({"channel":"news"})"));
  ASSERT_EQ(req_.channels.size(), 1u);
  EXPECT_EQ(req_.channels[0], "news");
  EXPECT_EQ(req_.tenant, "");
  EXPECT_EQ(req_.type, "message");
  EXPECT_EQ(req_.data, "{}");
}

TEST_F(ApiJson, PublishFull) {
  ASSERT_TRUE(publish(R"( {"channel":"a/b:c@d","tenant_id":"acme","type":"alert",
                            "data":{"x":[1,2.5,"s\n"],"y":null}, "other":1} )"));
  EXPECT_EQ(req_.channels[0], "a/b:c@d");
  EXPECT_EQ(req_.tenant, "acme");
  EXPECT_EQ(req_.type, "alert");
  EXPECT_EQ(req_.data, R"({"x":[1,2.5,"s\n"],"y":null})");
  // Any JSON value is data.
  ASSERT_TRUE(publish(R"({"channel":"c","data":"text"})"));
  EXPECT_EQ(req_.data, R"("text")");
  ASSERT_TRUE(publish(R"({"channel":"c","data":null,"tenant_id":null})"));
  EXPECT_EQ(req_.data, "null");
  EXPECT_EQ(req_.tenant, "");
  ASSERT_TRUE(publish(R"({"channel":"c","tenant_id":""})"));
  EXPECT_EQ(req_.tenant, "");
}

TEST_F(ApiJson, PublishErrors) {
  expect_error("", "INVALID_JSON", "");
  expect_error("{", "INVALID_JSON", "");
  expect_error(R"({"channel":"a",})", "INVALID_JSON", "");
  expect_error("[]", "INVALID_JSON", "");
  expect_error(R"({"channel":"a"} x)", "INVALID_JSON", "");
  expect_error(R"({"channel":"a"}{})", "INVALID_JSON", "");
  expect_error("\xff\xfe", "INVALID_JSON", "");
  expect_error("{\"channel\":\"\xff\"}", "INVALID_JSON", "");
  expect_error(R"({"channel":null})", "INVALID_FIELD", "channel");
  expect_error(R"("channel")", "INVALID_JSON", "");
  expect_error("{}", "MISSING_FIELD", "channel");
  expect_error(R"({"channel":5})", "INVALID_FIELD", "channel");
  expect_error(R"({"channel":""})", "INVALID_FIELD", "channel");
  expect_error(R"({"channel":"has space"})", "INVALID_FIELD", "channel");
  expect_error(R"({"channel":"a|b"})", "INVALID_FIELD", "channel");
  expect_error(R"({"channel":")" + std::string(129, 'a') + "\"}", "INVALID_FIELD", "channel");
  expect_error(R"({"channel":"a","type":1})", "INVALID_FIELD", "type");
  expect_error(R"({"channel":"a","type":""})", "INVALID_FIELD", "type");
  expect_error(R"({"channel":"a","tenant_id":7})", "INVALID_FIELD", "tenant_id");
  expect_error(R"({"channel":"a","tenant_id":"x|y"})", "INVALID_FIELD", "tenant_id");
  expect_error(R"({"channel":"a","tenant_id":"x\ny"})", "INVALID_FIELD", "tenant_id");
  expect_error(R"({"channel":"a","tenant_id":")" + std::string(129, 't') + "\"}", "INVALID_FIELD", "tenant_id");
  EXPECT_EQ(err_.response().status, 400);
  EXPECT_EQ(err_.response().body.find(R"({"error":{"code":"INVALID_FIELD","message":)"), 0u);
  EXPECT_NE(err_.response().body.find(R"("field":"tenant_id"}})"), std::string::npos);
}

TEST_F(ApiJson, Broadcast) {
  ASSERT_TRUE(publish(R"({"channels":["a","b","a","c"],"type":"t","data":[1]})", true));
  EXPECT_EQ(req_.channels, (std::vector<std::string>{"a", "b", "c"}));  // duplicates dropped, order kept
  EXPECT_EQ(req_.type, "t");
  EXPECT_EQ(req_.data, "[1]");
  expect_error("{}", "MISSING_FIELD", "channels", true);
  expect_error(R"({"channel":"a"})", "MISSING_FIELD", "channels", true);
  expect_error(R"({"channels":"a"})", "INVALID_FIELD", "channels", true);
  expect_error(R"({"channels":[]})", "INVALID_FIELD", "channels", true);
  expect_error(R"({"channels":["a",1]})", "INVALID_FIELD", "channels", true);
  expect_error(R"({"channels":["a","b c"]})", "INVALID_FIELD", "channels", true);
  std::string many = R"({"channels":[)";
  for (size_t i = 0; i < kMaxBroadcastChannels; ++i) many += (i ? ",\"c" : "\"c") + std::to_string(i) + "\"";
  ASSERT_TRUE(publish(many + "]}", true));
  EXPECT_EQ(req_.channels.size(), kMaxBroadcastChannels);
  expect_error(many + R"(,"one-more"]})", "INVALID_FIELD", "channels", true);
}

TEST_F(ApiJson, TenantBody) {
  std::string tenant = "from-query";
  FieldError err;
  EXPECT_TRUE(parse_tenant_body(parser_, "", &tenant, &err));
  EXPECT_EQ(tenant, "from-query");
  EXPECT_TRUE(parse_tenant_body(parser_, " \r\n", &tenant, &err));
  EXPECT_EQ(tenant, "from-query");
  EXPECT_TRUE(parse_tenant_body(parser_, "{}", &tenant, &err));
  EXPECT_EQ(tenant, "from-query");
  EXPECT_TRUE(parse_tenant_body(parser_, R"({"tenant_id":"acme"})", &tenant, &err));
  EXPECT_EQ(tenant, "acme");
  EXPECT_FALSE(parse_tenant_body(parser_, "nope", &tenant, &err));
  EXPECT_EQ(err.code, "INVALID_JSON");
  EXPECT_FALSE(parse_tenant_body(parser_, R"({"tenant_id":[]})", &tenant, &err));
  EXPECT_EQ(err.code, "INVALID_FIELD");
  EXPECT_EQ(err.field, "tenant_id");
}

TEST_F(ApiJson, ValidTenant) {
  EXPECT_TRUE(valid_tenant("acme"));
  EXPECT_TRUE(valid_tenant("Société Générale"));
  EXPECT_TRUE(valid_tenant(std::string(128, 't')));
  EXPECT_FALSE(valid_tenant(""));
  EXPECT_FALSE(valid_tenant(std::string(129, 't')));
  EXPECT_FALSE(valid_tenant("a|b"));
  EXPECT_FALSE(valid_tenant("a\tb"));
  EXPECT_FALSE(valid_tenant("\xff"));
}

TEST_F(ApiJson, ComposePublished) {
  std::string out = "old";
  compose_published(out, "alert", R"({"k":"v"})", "room-1", 1767225600123ull);  // 2026-01-01T00:00:00.123Z
  EXPECT_EQ(out, R"({"type":"alert","data":{"k":"v"},"channel":"room-1","timestamp":"2026-01-01T00:00:00.123Z"})");
  compose_published(out, "a\"b", "", "c", 0);
  simdjson::dom::element doc;
  ASSERT_EQ(parser_.parse(out).get(doc), simdjson::SUCCESS) << out;
  EXPECT_EQ(std::string_view(doc["type"].get_string().value()), "a\"b");
  EXPECT_TRUE(doc["data"].is_object());
}

}  // namespace
}  // namespace ringcast::api
