#include "protocol/json_escape.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::protocol {
namespace {

const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Escapes through both entry points and checks they agree.
std::string escape(std::string_view s) {
  const size_t size = json_escaped_size(bytes(s), s.size());
  std::string out(size + 16, '#');  // canaries after the promised size
  auto* begin = reinterpret_cast<uint8_t*>(out.data());
  uint8_t* end = json_escape(begin, bytes(s), s.size());
  EXPECT_EQ(size_t(end - begin), size) << "size() must equal the written length";
  EXPECT_EQ(out.substr(size), std::string(16, '#')) << "wrote past the promised size";
  out.resize(size);
  return out;
}

// Parses "<escaped>" with simdjson; returns false if it is not a JSON string.
bool parse_json_string(const std::string& escaped, std::string& decoded) {
  simdjson::dom::parser parser;
  const std::string doc = "\"" + escaped + "\"";
  simdjson::padded_string padded(doc);  // adds SIMDJSON_PADDING
  std::string_view sv;
  if (parser.parse(padded).get_string().get(sv) != simdjson::SUCCESS) return false;
  decoded.assign(sv);
  return true;
}

TEST(JsonEscape, Empty) {
  EXPECT_EQ(json_escaped_size(nullptr, 0), 0u);
  uint8_t out[1] = {'#'};
  EXPECT_EQ(json_escape(out, bytes(""), 0), out);
  EXPECT_EQ(out[0], '#');
}

TEST(JsonEscape, PlainTextIsCopied) {
  EXPECT_EQ(escape("hello, world"), "hello, world");
  EXPECT_EQ(escape("Server received: {x}"), "Server received: {x}");
  EXPECT_EQ(escape("/'<>&"), "/'<>&") << "no needless escapes";
}

TEST(JsonEscape, QuoteAndBackslash) {
  EXPECT_EQ(escape("\""), "\\\"");
  EXPECT_EQ(escape("\\"), "\\\\");
  EXPECT_EQ(escape("say \"hi\"\\n"), "say \\\"hi\\\"\\\\n");
  EXPECT_EQ(escape("\"\"\\\\"), "\\\"\\\"\\\\\\\\");
}

TEST(JsonEscape, ShortEscapes) {
  EXPECT_EQ(escape("\b"), "\\b");
  EXPECT_EQ(escape("\t"), "\\t");
  EXPECT_EQ(escape("\n"), "\\n");
  EXPECT_EQ(escape("\f"), "\\f");
  EXPECT_EQ(escape("\r"), "\\r");
  EXPECT_EQ(escape("a\r\nb"), "a\\r\\nb");
}

TEST(JsonEscape, EveryControlByte) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, char(c));
    std::string expected;
    switch (c) {
      case '\b': expected = "\\b"; break;
      case '\t': expected = "\\t"; break;
      case '\n': expected = "\\n"; break;
      case '\f': expected = "\\f"; break;
      case '\r': expected = "\\r"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        expected = buf;
      }
    }
    EXPECT_EQ(escape(in), expected) << "byte 0x" << std::hex << c;
    // Embedded between text too: the bulk copy around the escape is right.
    EXPECT_EQ(escape("ab" + in + "cd"), "ab" + expected + "cd") << "byte 0x" << std::hex << c;
    std::string decoded;
    ASSERT_TRUE(parse_json_string(expected, decoded)) << c;
    EXPECT_EQ(decoded, in);
  }
}

TEST(JsonEscape, EveryOtherAsciiByteIsCopied) {
  for (int c = 0x20; c < 0x80; ++c) {
    if (c == '"' || c == '\\') continue;
    const std::string in(1, char(c));
    EXPECT_EQ(escape(in), in) << "byte 0x" << std::hex << c;
  }
  // DEL needs no escape in JSON (RFC 8259 section 7) and must round-trip.
  std::string decoded;
  ASSERT_TRUE(parse_json_string(escape("\x7f"), decoded));
  EXPECT_EQ(decoded, "\x7f");
}

TEST(JsonEscape, MultiByteUtf8IsUntouched) {
  const std::string s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 \xef\xbf\xbf";
  EXPECT_EQ(escape(s), s);
  EXPECT_EQ(escape("\xc3\xa9\n\xf0\x9f\x98\x80\""), "\xc3\xa9\\n\xf0\x9f\x98\x80\\\"");
}

TEST(JsonEscape, EscapesAtTheEdges) {
  EXPECT_EQ(escape("\nabc"), "\\nabc");
  EXPECT_EQ(escape("abc\n"), "abc\\n");
  EXPECT_EQ(escape("\n\n\n"), "\\n\\n\\n");
  EXPECT_EQ(escape(std::string_view("\0\0", 2)), "\\u0000\\u0000");
  EXPECT_EQ(escape("\x1f" "a\x01"), "\\u001fa\\u0001");
}

TEST(JsonEscape, SizeMatchesForEveryByteValue) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(char(c));
  size_t expected = 0;
  for (int c = 0; c < 256; ++c) {
    if (c == '"' || c == '\\' || c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') expected += 2;
    else if (c < 0x20) expected += 6;
    else expected += 1;
  }
  EXPECT_EQ(json_escaped_size(bytes(all), all.size()), expected);
  EXPECT_EQ(escape(all).size(), expected);  // escape() checks write == size
}

// Random valid UTF-8, biased towards the characters that need escaping.
std::string random_utf8(std::mt19937& rng, size_t codepoints) {
  std::string s;
  for (size_t i = 0; i < codepoints; ++i) {
    uint32_t cp;
    switch (rng() % 6) {
      case 0: cp = rng() % 0x20; break;
      case 1: cp = "\"\\/\x7f"[rng() % 4]; break;
      case 2: cp = 0x20 + rng() % 0x60; break;
      case 3: cp = 0x80 + rng() % (0x800 - 0x80); break;
      case 4:
        do cp = 0x800 + rng() % (0x10000 - 0x800);
        while (cp >= 0xD800 && cp <= 0xDFFF);
        break;
      default: cp = 0x10000 + rng() % (0x110000 - 0x10000);
    }
    if (cp < 0x80) {
      s.push_back(char(cp));
    } else if (cp < 0x800) {
      s.push_back(char(0xC0 | (cp >> 6)));
      s.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(char(0xE0 | (cp >> 12)));
      s.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(char(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(char(0xF0 | (cp >> 18)));
      s.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(char(0x80 | (cp & 0x3F)));
    }
  }
  return s;
}

TEST(JsonEscape, RoundTripsThroughSimdjson) {
  std::mt19937 rng(2024);
  for (int iter = 0; iter < 3000; ++iter) {
    const std::string in = random_utf8(rng, rng() % 200);
    ASSERT_TRUE(simdjson::validate_utf8(in.data(), in.size()));
    const std::string escaped = escape(in);
    std::string decoded;
    ASSERT_TRUE(parse_json_string(escaped, decoded)) << "not a JSON string: " << escaped;
    ASSERT_EQ(decoded, in) << "iteration " << iter;
  }
}

TEST(JsonEscape, LongInputRoundTrips) {
  std::mt19937 rng(99);
  const std::string in = random_utf8(rng, 100000);
  std::string decoded;
  ASSERT_TRUE(parse_json_string(escape(in), decoded));
  EXPECT_EQ(decoded, in);
}

}  // namespace
}  // namespace ringcast::protocol
