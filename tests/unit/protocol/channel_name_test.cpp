// valid_channel: 1..128 bytes of A-Z a-z 0-9 . _ - : / @ (docs/PROTOCOLS.md,
// INVALID_CHANNEL). Every byte value is checked against that set.
#include <gtest/gtest.h>

#include <string>

#include "protocol/error_code.hpp"

namespace ringcast::protocol {
namespace {

bool allowed(unsigned c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == ':' || c == '/' || c == '@';
}

TEST(ValidChannel, EveryByteAlone) {
  for (unsigned c = 0; c < 256; ++c) {
    const std::string name(1, char(c));
    EXPECT_EQ(valid_channel(name), allowed(c)) << "byte " << c;
  }
}

TEST(ValidChannel, EveryByteInsideAName) {
  // A bad byte anywhere spoils the name, not only at the start.
  for (unsigned c = 0; c < 256; ++c) {
    const std::string name = "room" + std::string(1, char(c)) + "1";
    EXPECT_EQ(valid_channel(name), allowed(c)) << "byte " << c;
  }
}

TEST(ValidChannel, Lengths) {
  EXPECT_FALSE(valid_channel(""));
  EXPECT_TRUE(valid_channel("a"));
  EXPECT_TRUE(valid_channel(std::string(127, 'a')));
  EXPECT_TRUE(valid_channel(std::string(128, 'a')));
  EXPECT_EQ(kMaxChannelBytes, 128u);
  EXPECT_FALSE(valid_channel(std::string(129, 'a')));
  EXPECT_FALSE(valid_channel(std::string(100000, 'a')));
  // 128 bytes mixing every punctuation mark.
  std::string mixed;
  while (mixed.size() < 128) mixed += "a.b_c-d:e/f@9";
  mixed.resize(128);
  EXPECT_TRUE(valid_channel(mixed));
  EXPECT_FALSE(valid_channel(mixed + "@"));
}

TEST(ValidChannel, Examples) {
  for (const char* good : {"uploads", "search_results", "system_status", "room-1", "deals", "a.b.c", "user@host",
                           "ns:topic", "path/to/topic", "_", "-", ".", "..", "/", "@", ":", "0", "UPPER"})
    EXPECT_TRUE(valid_channel(good)) << good;
  for (const char* bad : {"a b", " a", "a ", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "a\tb",
                          "a\nb", "a\x7f", "a\"b", "a\\b", "a,b", "a#b", "a?b", "a%20b", "a+b", "a*b", "<a>", "a=b",
                          "a&b", "a~b", "a!b", "a$b", "a'b", "(a)", "[a]", "{a}", "a;b", "a|b", "a^b", "a`b"})
    EXPECT_FALSE(valid_channel(bad)) << bad;
  EXPECT_FALSE(valid_channel(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_channel(std::string_view("\0", 1)));
}

}  // namespace
}  // namespace ringcast::protocol
