// parse_envelope: every error it answers with (code, field, expected,
// message), the request_id kinds, the route key per profile; find_field's
// dotted paths; json_kind. Every input sits right before a guard page, with
// exactly SIMDJSON_PADDING bytes of padding, as the receive path gives it.
#include "protocol/envelope.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol_test_util.hpp"

namespace ringcast::protocol {
namespace {

using test::kActionRules;
using test::kEnvelopeRules;
using test::Parsed;

// ---- errors, as vectors -----------------------------------------------------

struct ErrorCase {
  const char* text;
  EnvelopeRules rules;
  ErrorCode code;
  const char* field;
  const char* expected;
  const char* message;  // exact, or a prefix ending in '*'
};

// Printable ASCII as is, other bytes as \xNN: test names end up in XML.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char* p = c.text; *p; ++p) {
    const auto b = static_cast<unsigned char>(*p);
    if (b >= 0x20 && b < 0x7f)
      *os << *p;
    else
      *os << "\\x" << kHex[b >> 4] << kHex[b & 15];
  }
}

class EnvelopeErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(EnvelopeErrors, CodeFieldExpectedMessage) {
  const ErrorCase& c = GetParam();
  Parsed p(c.text, c.rules);
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(error_name(p.err.code), error_name(c.code));
  EXPECT_EQ(p.err.field, c.field);
  EXPECT_EQ(p.err.expected, c.expected);
  const std::string want = c.message;
  if (!want.empty() && want.back() == '*')
    EXPECT_EQ(p.err.message.substr(0, want.size() - 1), want.substr(0, want.size() - 1)) << p.err.message;
  else
    EXPECT_EQ(p.err.message, want);
}

constexpr ErrorCode kJson = ErrorCode::invalid_json;
constexpr ErrorCode kMessage = ErrorCode::invalid_message;
constexpr ErrorCode kMissing = ErrorCode::missing_field;
constexpr ErrorCode kInvalid = ErrorCode::invalid_field;

INSTANTIATE_TEST_SUITE_P(
    InvalidJson, EnvelopeErrors,
    testing::Values(ErrorCase{"", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{"   ", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{"{", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":)", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"ping",})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"ping"} x)", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({}{})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({'type':'ping'})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"pi)" "\n" R"(ng"})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"\ud800"})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"\udc00"})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"\x"})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{"{\"type\":\"\xff\"}", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"x","n":1e400})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"x","n":18446744073709551616})", kEnvelopeRules, kJson, "", "",
                              "invalid JSON: *"},
                    ErrorCase{R"({"type":"x","n":01})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"type":"x","n":NaN})", kEnvelopeRules, kJson, "", "", "invalid JSON: *"},
                    ErrorCase{R"({"action":)", kActionRules, kJson, "", "", "invalid JSON: *"}));

INSTANTIATE_TEST_SUITE_P(
    NotAnObject, EnvelopeErrors,
    testing::Values(ErrorCase{"[]", kEnvelopeRules, kMessage, "", "", "a message must be a JSON object, not array"},
                    ErrorCase{R"([{"type":"ping"}])", kEnvelopeRules, kMessage, "", "",
                              "a message must be a JSON object, not array"},
                    ErrorCase{R"("ping")", kEnvelopeRules, kMessage, "", "",
                              "a message must be a JSON object, not string"},
                    ErrorCase{"42", kEnvelopeRules, kMessage, "", "", "a message must be a JSON object, not number"},
                    ErrorCase{"-1.5", kActionRules, kMessage, "", "", "a message must be a JSON object, not number"},
                    ErrorCase{"true", kEnvelopeRules, kMessage, "", "",
                              "a message must be a JSON object, not boolean"},
                    ErrorCase{"null", kActionRules, kMessage, "", "", "a message must be a JSON object, not null"}));

INSTANTIATE_TEST_SUITE_P(
    RouteKey, EnvelopeErrors,
    testing::Values(ErrorCase{"{}", kEnvelopeRules, kMissing, "type", "", "type is required"},
                    ErrorCase{"{}", kActionRules, kMissing, "action", "", "action is required"},
                    // The other profile's route key does not count.
                    ErrorCase{R"({"action":"ping"})", kEnvelopeRules, kMissing, "type", "", "type is required"},
                    ErrorCase{R"({"type":"ping"})", kActionRules, kMissing, "action", "", "action is required"},
                    // Keys are matched exactly.
                    ErrorCase{R"({"Type":"ping"})", kEnvelopeRules, kMissing, "type", "", "type is required"},
                    ErrorCase{R"({"data":{"type":"ping"}})", kEnvelopeRules, kMissing, "type", "",
                              "type is required"},
                    ErrorCase{R"({"type":1})", kEnvelopeRules, kInvalid, "type", "string",
                              "type must be a string, not number"},
                    ErrorCase{R"({"type":null})", kEnvelopeRules, kInvalid, "type", "string",
                              "type must be a string, not null"},
                    ErrorCase{R"({"type":true})", kEnvelopeRules, kInvalid, "type", "string",
                              "type must be a string, not boolean"},
                    ErrorCase{R"({"type":["ping"]})", kEnvelopeRules, kInvalid, "type", "string",
                              "type must be a string, not array"},
                    ErrorCase{R"({"type":{"name":"ping"}})", kEnvelopeRules, kInvalid, "type", "string",
                              "type must be a string, not object"},
                    ErrorCase{R"({"action":2.5})", kActionRules, kInvalid, "action", "string",
                              "action must be a string, not number"}));

INSTANTIATE_TEST_SUITE_P(
    RequestId, EnvelopeErrors,
    testing::Values(ErrorCase{R"({"type":"ping","request_id":null})", kEnvelopeRules, kInvalid, "request_id",
                              "string", "request_id must be a string, not null"},
                    ErrorCase{R"({"type":"ping","request_id":true})", kEnvelopeRules, kInvalid, "request_id",
                              "string", "request_id must be a string, not boolean"},
                    ErrorCase{R"({"type":"ping","request_id":false})", kActionRules, kInvalid, "request_id",
                              "string", "request_id must be a string, not boolean"},
                    ErrorCase{R"({"type":"ping","request_id":{}})", kEnvelopeRules, kInvalid, "request_id",
                              "string", "request_id must be a string, not object"},
                    ErrorCase{R"({"type":"ping","request_id":["r1"]})", kEnvelopeRules, kInvalid, "request_id",
                              "string", "request_id must be a string, not array"},
                    // request_id is checked first: its error wins over the route key's.
                    ErrorCase{R"({"request_id":null})", kEnvelopeRules, kInvalid, "request_id", "string",
                              "request_id must be a string, not null"},
                    ErrorCase{R"({"type":5,"request_id":[]})", kEnvelopeRules, kInvalid, "request_id", "string",
                              "request_id must be a string, not array"}));

INSTANTIATE_TEST_SUITE_P(
    Data, EnvelopeErrors,
    testing::Values(ErrorCase{R"({"type":"echo","data":[]})", kEnvelopeRules, kInvalid, "data", "object",
                              "data must be an object, not array"},
                    ErrorCase{R"({"type":"echo","data":null})", kEnvelopeRules, kInvalid, "data", "object",
                              "data must be an object, not null"},
                    ErrorCase{R"({"type":"echo","data":"x"})", kEnvelopeRules, kInvalid, "data", "object",
                              "data must be an object, not string"},
                    ErrorCase{R"({"type":"echo","data":0})", kEnvelopeRules, kInvalid, "data", "object",
                              "data must be an object, not number"},
                    ErrorCase{R"({"type":"echo","data":false})", kEnvelopeRules, kInvalid, "data", "object",
                              "data must be an object, not boolean"},
                    // The route key is checked before data.
                    ErrorCase{R"({"data":[]})", kEnvelopeRules, kMissing, "type", "", "type is required"}));

// ---- what an error still carries --------------------------------------------

TEST(Envelope, AnErrorAfterAGoodRequestIdStillEchoesIt) {
  Parsed p(R"({"request_id":"r9","data":{}})", kEnvelopeRules);
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.err.code, ErrorCode::missing_field);
  ASSERT_TRUE(p.env.has_request_id);
  EXPECT_EQ(std::string_view(p.env.request_id.get_string().value_unsafe()), "r9");

  Parsed q(R"({"type":"echo","data":[],"request_id":7})", kEnvelopeRules);
  ASSERT_FALSE(q.ok);
  EXPECT_EQ(q.err.code, ErrorCode::invalid_field);
  ASSERT_TRUE(q.env.has_request_id);
  EXPECT_EQ(int64_t(q.env.request_id.get_int64().value_unsafe()), 7);
}

TEST(Envelope, ABadRequestIdIsNotEchoed) {
  Parsed p(R"({"type":"ping","request_id":null})", kEnvelopeRules);
  ASSERT_FALSE(p.ok);
  EXPECT_FALSE(p.env.has_request_id);
}

// ---- success ----------------------------------------------------------------

TEST(Envelope, RequestIdKinds) {
  using simdjson::dom::element_type;
  struct Case {
    const char* text;
    element_type type;
  };
  const Case cases[] = {
      {R"({"type":"ping","request_id":"p1"})", element_type::STRING},
      {R"({"type":"ping","request_id":""})", element_type::STRING},
      {R"({"type":"ping","request_id":0})", element_type::INT64},
      {R"({"type":"ping","request_id":-42})", element_type::INT64},
      {R"({"type":"ping","request_id":9223372036854775807})", element_type::INT64},
      {R"({"type":"ping","request_id":18446744073709551615})", element_type::UINT64},
      {R"({"type":"ping","request_id":1.5})", element_type::DOUBLE},
      {R"({"type":"ping","request_id":-2e10})", element_type::DOUBLE},
  };
  for (const Case& c : cases) {
    Parsed p(c.text, kEnvelopeRules);
    ASSERT_TRUE(p.ok) << c.text << ": " << p.err.message;
    EXPECT_TRUE(p.env.has_request_id) << c.text;
    EXPECT_EQ(p.env.request_id.type(), c.type) << c.text;
    EXPECT_EQ(p.env.route, "ping");
  }
  Parsed none(R"({"type":"ping"})", kEnvelopeRules);
  ASSERT_TRUE(none.ok);
  EXPECT_FALSE(none.env.has_request_id);
}

TEST(Envelope, SeedMessages) {
  struct Case {
    const char* text;
    EnvelopeRules rules;
    const char* route;
  };
  const Case cases[] = {
      {R"({"type":"subscribe","data":{"channels":["a","b"]},"request_id":"r1"})", kEnvelopeRules, "subscribe"},
      {R"({"type":"unsubscribe","data":{"channels":["a"]},"request_id":"r2"})", kEnvelopeRules, "unsubscribe"},
      {R"({"type":"ping","request_id":"p1"})", kEnvelopeRules, "ping"},
      {R"({"type":"publish","data":{"channel":"uploads","type":"upload_progress","data":{"progress":45}},"request_id":"r3"})",
       kEnvelopeRules, "publish"},
      {R"({"type":"echo","data":{},"request_id":"r4"})", kEnvelopeRules, "echo"},
      {"{\n  \"type\": \"subscribe\",\n  \"data\": {\n    \"channels\": [\"uploads\", \"search_results\"]\n  },\n"
       "  \"request_id\": \"req_1\"\n}",
       kEnvelopeRules, "subscribe"},
      {R"({"id":"m-1","type":"message","content":"Hello","metadata":{"k":"v"}})", kEnvelopeRules, "message"},
      {R"({"action":"subscribe","channels":["deals"]})", kActionRules, "subscribe"},
      {R"({"action":"publish","channel":"deals","data":{"x":1}})", kActionRules, "publish"},
      {R"({"action":"message","message":"Hi","interview_id":"i-1"})", kActionRules, "message"},
  };
  for (const Case& c : cases) {
    Parsed p(c.text, c.rules);
    ASSERT_TRUE(p.ok) << c.text << ": " << p.err.message;
    EXPECT_EQ(p.env.route, c.route) << c.text;
  }
}

TEST(Envelope, RouteKeyTypeVersusAction) {
  const char* text = R"({"type":"subscribe","action":"ping"})";
  Parsed by_type(text, kEnvelopeRules);
  ASSERT_TRUE(by_type.ok);
  EXPECT_EQ(by_type.env.route, "subscribe");
  Parsed by_action(text, kActionRules);
  ASSERT_TRUE(by_action.ok);
  EXPECT_EQ(by_action.env.route, "ping");
}

TEST(Envelope, RouteValueIsUnescaped) {
  Parsed p(R"({"type":"pi\u006eg"})", kEnvelopeRules);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.env.route, "ping");
  Parsed empty(R"({"type":""})", kEnvelopeRules);
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(empty.env.route, "");
  Parsed nul(R"({"type":"a\u0000b"})", kEnvelopeRules);
  ASSERT_TRUE(nul.ok);
  EXPECT_EQ(nul.env.route, std::string_view("a\0b", 3));
}

TEST(Envelope, DuplicateKeysTakeTheFirst) {
  Parsed p(R"({"type":"a","type":"b"})", kEnvelopeRules);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.env.route, "a");
}

TEST(Envelope, DataRuleOnlyForTheEnvelopeProfile) {
  for (const char* text : {R"({"action":"x","data":[]})", R"({"action":"x","data":null})",
                           R"({"action":"x","data":"s"})", R"({"action":"x"})"}) {
    Parsed p(text, kActionRules);
    EXPECT_TRUE(p.ok) << text << ": " << p.err.message;
  }
  for (const char* text : {R"({"type":"x"})", R"({"type":"x","data":{}})", R"({"type":"x","data":{"a":[1]}})"}) {
    Parsed p(text, kEnvelopeRules);
    EXPECT_TRUE(p.ok) << text << ": " << p.err.message;
  }
}

TEST(Envelope, NestingLimit) {
  // simdjson's DOM parser refuses more than 1024 levels: INVALID_JSON, not a crash.
  std::string deep = R"({"type":"x","data":{"a":)";
  deep += std::string(2000, '[') + std::string(2000, ']') + "}}";
  Parsed p(deep, kEnvelopeRules);
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.err.code, ErrorCode::invalid_json);

  std::string ok = R"({"type":"x","data":{"a":)";
  ok += std::string(500, '[') + std::string(500, ']') + "}}";
  Parsed q(ok, kEnvelopeRules);
  EXPECT_TRUE(q.ok) << q.err.message;
}

TEST(Envelope, OneParserManyMessages) {
  // The routed phase keeps one parser per reactor: a big message, then small
  // ones, then a broken one, then a good one again.
  simdjson::dom::parser parser;
  std::string big = R"({"type":"echo","data":{"blob":")" + std::string(100000, 'z') + R"("},"request_id":"big"})";
  const std::vector<std::string> texts = {big, R"({"type":"ping","request_id":1})", R"({"type":)",
                                          R"({"type":"ping","request_id":"again"})"};
  const bool want[] = {true, true, false, true};
  for (size_t i = 0; i < texts.size(); ++i) {
    test::GuardedText buf(texts[i]);
    Envelope env;
    EnvelopeError err;
    EXPECT_EQ(parse_envelope(parser, buf.data(), buf.size(), kEnvelopeRules, &env, &err), want[i]) << i;
    if (want[i]) {
      EXPECT_EQ(env.route, i == 0 ? "echo" : "ping");
    }
  }
}

// ---- find_field -------------------------------------------------------------

class FindField : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(p_.ok) << p_.err.message;
    root_ = p_.env.root;
  }
  bool find(std::string_view path, simdjson::dom::element* e = nullptr) {
    simdjson::dom::element tmp;
    return find_field(root_, path, e ? e : &tmp);
  }

  Parsed p_{R"({"type":"publish","data":{"channel":"uploads","type":"upload_progress",)"
            R"("data":{"progress":45,"deep":{"x":null}},"channels":["a","b"]},"":{"":1},"a.b":2})",
            kEnvelopeRules};
  simdjson::dom::object root_;
};

TEST_F(FindField, TopLevelAndNested) {
  simdjson::dom::element e;
  ASSERT_TRUE(find("type", &e));
  EXPECT_EQ(std::string_view(e.get_string().value_unsafe()), "publish");
  ASSERT_TRUE(find("data.channel", &e));
  EXPECT_EQ(std::string_view(e.get_string().value_unsafe()), "uploads");
  ASSERT_TRUE(find("data.type", &e));
  EXPECT_EQ(std::string_view(e.get_string().value_unsafe()), "upload_progress");
  ASSERT_TRUE(find("data.data.progress", &e));
  EXPECT_EQ(int64_t(e.get_int64().value_unsafe()), 45);
  ASSERT_TRUE(find("data.data.deep.x", &e));
  EXPECT_TRUE(e.is_null());
  ASSERT_TRUE(find("data.data", &e));
  EXPECT_TRUE(e.is_object());
  ASSERT_TRUE(find("data.channels", &e));
  EXPECT_TRUE(e.is_array());
}

TEST_F(FindField, Absent) {
  EXPECT_FALSE(find("nope"));
  EXPECT_FALSE(find("data.nope"));
  EXPECT_FALSE(find("nope.x"));
  EXPECT_FALSE(find("data.data.deep.x.y"));  // through null
  EXPECT_FALSE(find("type.x"));              // through a string
  EXPECT_FALSE(find("data.channels.0"));     // no array indexing
  EXPECT_FALSE(find("Data.channel"));        // exact keys
  EXPECT_FALSE(find("data..channel"));       // an empty key in the middle
}

TEST_F(FindField, EmptyKeysAndDotsInKeys) {
  simdjson::dom::element e;
  // "" is the key "", "." is "" inside "".
  ASSERT_TRUE(find("", &e));
  EXPECT_TRUE(e.is_object());
  ASSERT_TRUE(find(".", &e));
  EXPECT_EQ(int64_t(e.get_int64().value_unsafe()), 1);
  EXPECT_FALSE(find("data."));
  // A key with a dot in it cannot be named by a path.
  EXPECT_FALSE(find("a.b"));
}

// ---- json_kind ----------------------------------------------------------------

TEST(JsonKind, EveryType) {
  Parsed p(R"({"type":"x","o":{},"a":[],"s":"","i":-1,"u":18446744073709551615,"d":0.5,"t":true,"f":false,"n":null})",
           kEnvelopeRules);
  ASSERT_TRUE(p.ok);
  const std::pair<const char*, const char*> want[] = {{"o", "object"}, {"a", "array"},  {"s", "string"},
                                                      {"i", "number"}, {"u", "number"}, {"d", "number"},
                                                      {"t", "boolean"}, {"f", "boolean"}, {"n", "null"}};
  for (auto [key, kind] : want) {
    simdjson::dom::element e;
    ASSERT_TRUE(find_field(p.env.root, key, &e)) << key;
    EXPECT_EQ(json_kind(e), kind) << key;
  }
}

}  // namespace
}  // namespace ringcast::protocol
