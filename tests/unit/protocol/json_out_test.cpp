// JsonOut: str() escaping, number(), timestamp(), and element(): a parsed
// value written back compactly must parse again to the same value (same
// types, same numbers, same strings, same member order), and writing that
// again must give the same text (a fixed point).
#include "protocol/json_out.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "protocol_test_util.hpp"

namespace ringcast::protocol {
namespace {

using test::GuardedText;
using test::same_value;

// Parses text (padded), or fails the test.
struct Doc {
  explicit Doc(std::string_view text) : padded(text) {
    error = parser.parse(padded).get(root);
  }
  simdjson::padded_string padded;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::error_code error = simdjson::SUCCESS;
};

std::string write(simdjson::dom::element e) {
  std::string out;
  JsonOut(out).element(e);
  return out;
}

// parse -> element() -> parse -> same value; element() again -> same text.
testing::AssertionResult round_trips(std::string_view text) {
  Doc first(text);
  if (first.error) return testing::AssertionFailure() << "input does not parse: " << first.error;
  const std::string once = write(first.root);
  Doc second(once);
  if (second.error)
    return testing::AssertionFailure() << "output does not parse (" << simdjson::error_message(second.error)
                                       << "): " << once;
  auto same = same_value(first.root, second.root);
  if (!same) return same << " (output: " << once << ")";
  const std::string twice = write(second.root);
  if (twice != once) return testing::AssertionFailure() << "not a fixed point: " << once << " -> " << twice;
  return testing::AssertionSuccess();
}

// ---- str / number / timestamp ---------------------------------------------------

TEST(JsonOutStr, Escapes) {
  std::string out;
  JsonOut j(out);
  j.str("plain");
  EXPECT_EQ(out, R"("plain")");
  out.clear();
  j.str("");
  EXPECT_EQ(out, R"("")");
  out.clear();
  j.str("q\"b\\s/");
  EXPECT_EQ(out, R"("q\"b\\s/")");
  out.clear();
  j.str("\b\f\n\r\t");
  EXPECT_EQ(out, R"("\b\f\n\r\t")");
  out.clear();
  j.str(std::string_view("\x00\x01\x1f\x0b\x7f", 5));
  EXPECT_EQ(out, "\"\\u0000\\u0001\\u001f\\u000b\x7f\"");
  out.clear();
  // UTF-8 is copied as is.
  j.str("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xe2\x80\xa8");
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 \xe2\x80\xa8\"");
}

TEST(JsonOutStr, EveryControlByteParsesBack) {
  std::string s;
  for (int c = 0; c < 0x20; ++c) s.push_back(char(c));
  s += "\"\\";
  std::string out;
  JsonOut(out).str(s);
  Doc d(out);
  ASSERT_FALSE(d.error) << out;
  EXPECT_EQ(std::string_view(d.root.get_string().value_unsafe()), s);
}

TEST(JsonOutStr, AppendsAndChains) {
  std::string out = "prefix:";
  JsonOut(out).raw("{").str("k").raw(":").number(7).raw(",").str("s").raw(":").str("a\"b").raw("}");
  EXPECT_EQ(out, R"(prefix:{"k":7,"s":"a\"b"})");
}

TEST(JsonOutNumber, Range) {
  std::string out;
  JsonOut j(out);
  j.number(0).raw(",").number(42).raw(",").number(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(out, "0,42,18446744073709551615");
}

TEST(JsonOutTimestamp, Quoted) {
  std::string out;
  JsonOut(out).timestamp(1768125600123ull);
  EXPECT_EQ(out, R"("2026-01-11T10:00:00.123Z")");
  out.clear();
  JsonOut(out).timestamp(0);
  EXPECT_EQ(out, R"("1970-01-01T00:00:00.000Z")");
}

// ---- element: exact output ----------------------------------------------------------

TEST(JsonOutElement, CompactExactText) {
  const std::pair<const char*, const char*> cases[] = {
      {R"( { "a" : [ 1 , 2 ] , "b" : { } , "c" : [ ] } )", R"({"a":[1,2],"b":{},"c":[]})"},
      {R"("\/")", R"("/")"},
      {R"("\u00e9\u65e5")", "\"\xc3\xa9\xe6\x97\xa5\""},
      {R"("\ud83d\ude00")", "\"\xf0\x9f\x98\x80\""},
      {R"("\u0001\u001F")", R"("\u0001\u001f")"},
      {R"("\n\t\"\\")", R"("\n\t\"\\")"},
      {R"("\u007f")", "\"\x7f\""},
      {R"([true,false,null])", R"([true,false,null])"},
      {R"([0,-1,9223372036854775807,-9223372036854775808])", R"([0,-1,9223372036854775807,-9223372036854775808])"},
      {R"(18446744073709551615)", R"(18446744073709551615)"},
      {R"([0.5,-0.25,1E3,1.5e300,2.5E-300,-0.0,1.0])", R"([0.5,-0.25,1000.0,1.5e+300,2.5e-300,-0.0,1.0])"},
      {R"({"k\"ey\n":1})", R"({"k\"ey\n":1})"},
      {R"({"a":1,"a":2})", R"({"a":1,"a":2})"},
  };
  for (auto [in, want] : cases) {
    Doc d(in);
    ASSERT_FALSE(d.error) << in;
    EXPECT_EQ(write(d.root), want) << in;
  }
}

TEST(JsonOutElement, ASubValueOnly) {
  Doc d(R"({"type":"publish","data":{"channel":"uploads","data":{"x":[1,{"y":"z"}]}}})");
  ASSERT_FALSE(d.error);
  simdjson::dom::element inner;
  ASSERT_TRUE(find_field(d.root.get_object().value_unsafe(), "data.data", &inner));
  EXPECT_EQ(write(inner), R"({"x":[1,{"y":"z"}]})");
}

// ---- element: round trips ------------------------------------------------------------

TEST(JsonOutElement, RoundTripNested) {
  EXPECT_TRUE(round_trips(R"({"a":{"b":{"c":[1,2,[3,[4,[]]],{},{"d":null}]}},"e":[[],[[]],{"f":{}}]})"));
  EXPECT_TRUE(round_trips("{}"));
  EXPECT_TRUE(round_trips("[]"));
  EXPECT_TRUE(round_trips(R"("")"));
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_TRUE(round_trips(deep));
  std::string deep_objects;
  for (int i = 0; i < 500; ++i) deep_objects += R"({"k":)";
  deep_objects += "null" + std::string(500, '}');
  EXPECT_TRUE(round_trips(deep_objects));
}

TEST(JsonOutElement, RoundTripStrings) {
  EXPECT_TRUE(round_trips(
      R"({"s":"quote\" backslash\\ slash\/ nl\n tab\t cr\r bs\b ff\f ctl\u0001 \u001f nul\u0000 del\u007f"})"));
  EXPECT_TRUE(round_trips(
      R"({"u":"caf\u00e9 \u65e5\u672c \ud83d\ude00 \u2028\u2029 \uffff \u0800 \udbff\udfff",)"
      "\"raw\":\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}"));
  EXPECT_TRUE(round_trips(R"({"k\"ey\n":1,"\u65e5\u672c":2,"":3,"\u0000":4})"));
  EXPECT_TRUE(round_trips(R"(["\\\\\\\"\"\"","\"","\\"])"));
}

TEST(JsonOutElement, RoundTripIntegers) {
  EXPECT_TRUE(round_trips(R"([0,1,-1,42,-42,9223372036854775807,-9223372036854775808,9223372036854775808,)"
                          R"(18446744073709551615,-0])"));
}

TEST(JsonOutElement, RoundTripBoolsAndNull) { EXPECT_TRUE(round_trips(R"({"t":true,"f":false,"n":null})")); }

TEST(JsonOutElement, RoundTripDoubles) {
  EXPECT_TRUE(round_trips(R"([0.5,-0.5,0.1,3.141592653589793,1.5e300,-2.5e-300,123456.789,1e21,1e-7,)"
                          R"(5e-324,2.2250738585072014e-308,1.7976931348623157e308,-1.7976931348623157e308])"));
}

// Regressions (found by the envelope fuzzer): a double with an integral
// value was written without a fraction or exponent ("1"), so it read back as
// an integer.
TEST(JsonOutElement, IntegralDoublesStayDoubles) {
  EXPECT_TRUE(round_trips("[1.0]"));
  EXPECT_TRUE(round_trips("[45.0,-3.0,100.0]"));
  EXPECT_TRUE(round_trips("[1e2]"));
}

// -0.0 was written "-0", which read back as the integer 0 and then wrote as
// "0": not a fixed point. Tiny negatives underflow to -0.0 too.
TEST(JsonOutElement, NegativeZero) {
  EXPECT_TRUE(round_trips("[-0.0]"));
  EXPECT_TRUE(round_trips("[-1e-400]"));
}

// A double of 2^64 or more (or below -2^63) was written as all its integer
// digits ("18446744073709551616"), which simdjson refuses as an integer out
// of range: the server emitted a number its own parser rejects.
TEST(JsonOutElement, HugeIntegralDoublesParseBack) {
  EXPECT_TRUE(round_trips("[18446744073709551616.0]"));
  EXPECT_TRUE(round_trips("[1.8446744073709552e19]"));
  EXPECT_TRUE(round_trips("[98765432109876543210.0]"));
  EXPECT_TRUE(round_trips("[-922337203685477580821.0]"));
}

}  // namespace
}  // namespace ringcast::protocol
