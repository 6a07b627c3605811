#include "ws/utf8.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "utf8_reference.hpp"

namespace ringcast::ws {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes b(std::string_view s) { return Bytes(s.begin(), s.end()); }

bool valid(const Bytes& v) { return utf8_valid(v.data(), v.size()); }

// Index of the byte at which feeding one byte at a time first fails, or -1.
int fail_index(const Bytes& v) {
  Utf8Validator u;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!u.feed(&v[i], 1)) return static_cast<int>(i);
  }
  return -1;
}

// Encodes any value up to 21 bits with the UTF-8 bit pattern, even ones
// that are not legal scalars, so tests can build surrogates and > U+10FFFF.
Bytes encode(uint32_t cp) {
  if (cp < 0x80) return {static_cast<uint8_t>(cp)};
  if (cp < 0x800) return {static_cast<uint8_t>(0xC0 | (cp >> 6)), static_cast<uint8_t>(0x80 | (cp & 0x3F))};
  if (cp < 0x10000)
    return {static_cast<uint8_t>(0xE0 | (cp >> 12)), static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)),
            static_cast<uint8_t>(0x80 | (cp & 0x3F))};
  return {static_cast<uint8_t>(0xF0 | (cp >> 18)), static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)),
          static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)), static_cast<uint8_t>(0x80 | (cp & 0x3F))};
}

TEST(Utf8, Boundaries) {
  for (uint32_t cp : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFDu, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    EXPECT_TRUE(valid(encode(cp))) << std::hex << cp;
  }
  EXPECT_FALSE(valid(encode(0x110000)));
  EXPECT_FALSE(valid(encode(0x1FFFFF)));
  EXPECT_FALSE(valid(b("\xF5\x80\x80\x80")));
  EXPECT_FALSE(valid(b("\xFF")));
  EXPECT_TRUE(valid({}));
}

TEST(Utf8, EveryCodePointMatchesItsDefinition) {
  for (uint32_t cp = 0; cp < 0x110000 + 0x100; cp += (cp < 0x11000 ? 1 : 61)) {
    const bool legal = cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    ASSERT_EQ(valid(encode(cp)), legal) << std::hex << cp;
  }
}

TEST(Utf8, Overlongs) {
  for (auto s : {"\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",
                 "\xC0\xAF", "\xE0\x80\xAF"}) {
    EXPECT_FALSE(valid(b(s))) << s;
  }
}

TEST(Utf8, Surrogates) {
  for (uint32_t cp : {0xD800u, 0xDBFFu, 0xDC00u, 0xDFFFu}) EXPECT_FALSE(valid(encode(cp)));
  EXPECT_FALSE(valid(b("\xED\xA0\x80\xED\xB0\x80")));  // a CESU-8 pair
}

TEST(Utf8, StrayContinuationAndBadSequences) {
  EXPECT_FALSE(valid(b("\x80")));
  EXPECT_FALSE(valid(b("a\xBF")));
  EXPECT_FALSE(valid(b("\xC2\x41")));
  EXPECT_FALSE(valid(b("\xE2\x82\x41")));
  EXPECT_FALSE(valid(b("\xC2\xA9\xA9")));
}

TEST(Utf8, FailsAtTheFirstImpossibleByte) {
  EXPECT_EQ(fail_index(b("\xF4\x90")), 1);
  EXPECT_EQ(fail_index(b("\xED\xA0")), 1);
  EXPECT_EQ(fail_index(b("\xC0")), 0);
  EXPECT_EQ(fail_index(b("\xC1")), 0);
  EXPECT_EQ(fail_index(b("\xF5")), 0);
  EXPECT_EQ(fail_index(b("\xE0\x80")), 1);
  EXPECT_EQ(fail_index(b("\xF0\x8F")), 1);
  EXPECT_EQ(fail_index(b("ab\x80")), 2);
  EXPECT_EQ(fail_index(b("\xE2\x82\x41")), 2);
  EXPECT_EQ(fail_index(b("\xF4\x8F\xBF")), -1);  // still a prefix of U+10FFFF
  // Once failed, stays failed.
  Utf8Validator u;
  EXPECT_FALSE(u.feed(reinterpret_cast<const uint8_t*>("\xFF"), 1));
  EXPECT_FALSE(u.feed(reinterpret_cast<const uint8_t*>("a"), 1));
  EXPECT_FALSE(u.complete());
  u.reset();
  EXPECT_TRUE(u.feed(reinterpret_cast<const uint8_t*>("a"), 1));
  EXPECT_TRUE(u.complete());
}

TEST(Utf8, TruncationIsCaughtByComplete) {
  for (auto s : {"\xC2", "\xE2\x82", "\xF0\x9F\x98", "abc\xF4"}) {
    Utf8Validator u;
    const Bytes v = b(s);
    EXPECT_TRUE(u.feed(v.data(), v.size())) << "a valid prefix";
    EXPECT_FALSE(u.complete());
    EXPECT_FALSE(valid(v));
  }
}

TEST(Utf8, EverySplitPointOfMultiByteSequences) {
  const Bytes text = b("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80z");
  const Bytes bad = b("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xED\xA0\x80z");
  for (const Bytes* v : {&text, &bad}) {
    const bool expected = valid(*v);
    EXPECT_EQ(expected, v == &text);
    for (size_t i = 0; i <= v->size(); ++i) {
      for (size_t j = i; j <= v->size(); ++j) {
        Utf8Validator u;
        const bool ok = u.feed(v->data(), i) && u.feed(v->data() + i, j - i) &&
                        u.feed(v->data() + j, v->size() - j) && u.complete();
        ASSERT_EQ(ok, expected) << i << "," << j;
      }
    }
  }
}

TEST(Utf8, AsciiFastPathSeesEveryPosition) {
  // A non-ASCII byte anywhere in a long ASCII run, at every alignment.
  for (size_t len = 1; len < 70; ++len) {
    for (size_t at = 0; at < len; ++at) {
      Bytes v(len, 'x');
      v[at] = 0x80;
      ASSERT_FALSE(valid(v)) << len << "@" << at;
      Bytes w(len, 'x');
      w.insert(w.begin() + static_cast<ptrdiff_t>(at), {0xC3, 0xA9});
      ASSERT_TRUE(valid(w));
      const Bytes cut(w.begin(), w.begin() + static_cast<ptrdiff_t>(at + 1));  // ends inside é
      ASSERT_FALSE(valid(cut));
    }
  }
}

// Biased random bytes: mostly pieces of real UTF-8 plus edge bytes, so both
// valid and almost-valid buffers are common.
Bytes random_buffer(std::mt19937& rng) {
  static const uint8_t edges[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                  0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  Bytes v;
  const size_t pieces = rng() % 24;
  for (size_t i = 0; i < pieces; ++i) {
    switch (rng() % 5) {
      case 0: v.push_back(edges[rng() % sizeof edges]); break;
      case 1: v.push_back(static_cast<uint8_t>(rng())); break;
      case 2: {
        const size_t run = rng() % 20;
        for (size_t k = 0; k < run; ++k) v.push_back(static_cast<uint8_t>('A' + k % 26));
        break;
      }
      default: {
        const uint32_t ranges[] = {0x80, 0x800, 0x10000, 0x110000};
        const Bytes e = encode(static_cast<uint32_t>(rng() % ranges[rng() % 4]));
        v.insert(v.end(), e.begin(), e.end());
      }
    }
  }
  return v;
}

TEST(Utf8, DifferentialAgainstReference) {
  std::mt19937 rng(42);
  size_t valid_count = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    const Bytes v = random_buffer(rng);
    const bool want = reference::utf8_valid(v.data(), v.size());
    valid_count += want;
    ASSERT_EQ(valid(v), want) << iter;
    const size_t cut = v.empty() ? 0 : rng() % (v.size() + 1);
    Utf8Validator u;
    const bool first = u.feed(v.data(), cut);
    ASSERT_EQ(first, reference::utf8_prefix_ok(v.data(), cut)) << iter;
    const bool split = first && u.feed(v.data() + cut, v.size() - cut) && u.complete();
    ASSERT_EQ(split, want) << iter;
  }
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(valid_count, 20000u);
  EXPECT_LT(valid_count, 180000u);
}

TEST(Utf8, FailFastMatchesReferencePrefixes) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 20000; ++iter) {
    const Bytes v = random_buffer(rng);
    Utf8Validator u;
    for (size_t i = 0; i < v.size(); ++i) {
      const bool ok = u.feed(&v[i], 1);
      ASSERT_EQ(ok, reference::utf8_prefix_ok(v.data(), i + 1)) << iter << "@" << i;
      if (!ok) break;
    }
  }
}

}  // namespace
}  // namespace ringcast::ws
