#include "ws/mask.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace ringcast::ws {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes slow_mask(Bytes v, const uint8_t key[4], size_t offset) {
  for (size_t i = 0; i < v.size(); ++i) v[i] ^= key[(offset + i) % 4];
  return v;
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes v(n);
  for (auto& x : v) x = static_cast<uint8_t>(rng());
  return v;
}

TEST(Mask, MatchesByteWiseDefinitionAtEveryLengthOffsetAndAlignment) {
  std::mt19937 rng(1);
  const uint8_t key[4] = {0x01, 0x80, 0xFE, 0x5A};
  for (size_t len = 0; len < 80; ++len) {
    for (size_t offset = 0; offset < 4; ++offset) {
      for (size_t align = 0; align < 8; ++align) {
        Bytes buf = random_bytes(rng, len + align);
        const Bytes original(buf.begin() + static_cast<ptrdiff_t>(align), buf.end());
        apply_mask(buf.data() + align, len, key, offset);
        ASSERT_EQ(Bytes(buf.begin() + static_cast<ptrdiff_t>(align), buf.end()), slow_mask(original, key, offset))
            << len << " " << offset << " " << align;
      }
    }
  }
}

TEST(Mask, ChunkedEqualsOneShotForEverySplitAndOffset) {
  std::mt19937 rng(2);
  uint8_t key[4];
  for (auto& k : key) k = static_cast<uint8_t>(rng());
  const Bytes data = random_bytes(rng, 67);
  for (size_t start = 0; start < 4; ++start) {
    Bytes once = data;
    apply_mask(once.data(), once.size(), key, start);
    for (size_t i = 0; i <= data.size(); ++i) {
      for (size_t j = i; j <= data.size(); ++j) {
        Bytes chunked = data;
        apply_mask(chunked.data(), i, key, start);
        apply_mask(chunked.data() + i, j - i, key, (start + i) % 4);
        apply_mask(chunked.data() + j, data.size() - j, key, (start + j) % 4);
        ASSERT_EQ(chunked, once) << start << " " << i << " " << j;
      }
    }
  }
}

TEST(Mask, RoundTrip) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 1000; ++iter) {
    uint8_t key[4];
    for (auto& k : key) k = static_cast<uint8_t>(rng());
    const Bytes data = random_bytes(rng, rng() % 5000);
    Bytes v = data;
    const size_t offset = rng() % 4;
    apply_mask(v.data(), v.size(), key, offset);
    if (data.size() > 16 && (key[0] | key[1] | key[2] | key[3])) {
      EXPECT_NE(v, data);
    }
    apply_mask(v.data(), v.size(), key, offset);
    ASSERT_EQ(v, data);
  }
}

TEST(Mask, OnlyLowTwoBitsOfOffsetMatter) {
  const uint8_t key[4] = {1, 2, 3, 4};
  Bytes a(13, 0), c(13, 0);
  apply_mask(a.data(), a.size(), key, 1);
  apply_mask(c.data(), c.size(), key, 5);
  EXPECT_EQ(a, c);
  EXPECT_EQ(a[0], 2);
}

}  // namespace
}  // namespace ringcast::ws
