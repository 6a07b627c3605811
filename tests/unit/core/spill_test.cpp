#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "protocol/session.hpp"

namespace ringcast::protocol {
namespace {

const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string contents(const Spill& s) { return std::string(reinterpret_cast<const char*>(s.data), s.size); }

// The documented contract: kSpillPadding spare bytes after the data, so a
// whole message can be handed to simdjson in place.
void expect_padding(const Spill& s) {
  if (s.empty()) return;
  EXPECT_GE(size_t(s.capacity), size_t(s.size) + kSpillPadding)
      << "size " << s.size << " capacity " << s.capacity;
}

TEST(Spill, EmptyHoldsNothing) {
  Spill s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.data, nullptr);
  EXPECT_EQ(s.capacity, 0u);
  EXPECT_TRUE(s.append(bytes(""), 0));
  EXPECT_EQ(s.data, nullptr) << "appending nothing allocates nothing";
  s.drop_front(10);
  EXPECT_TRUE(s.empty());
  s.release();
}

TEST(Spill, AppendAccumulates) {
  Spill s;
  ASSERT_TRUE(s.append(bytes("hello, "), 7));
  ASSERT_TRUE(s.append(bytes("world"), 5));
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(s.size, 12u);
  EXPECT_EQ(contents(s), "hello, world");
  expect_padding(s);
  s.release();
}

TEST(Spill, GrowsAndKeepsContents) {
  Spill s;
  std::string model;
  for (int i = 0; i < 2000; ++i) {
    const std::string piece(size_t(i % 37 + 1), char('a' + i % 26));
    ASSERT_TRUE(s.append(bytes(piece), piece.size()));
    model += piece;
  }
  EXPECT_EQ(contents(s), model);
  EXPECT_GE(s.capacity, s.size);
  s.release();
}

TEST(Spill, DropFront) {
  Spill s;
  ASSERT_TRUE(s.append(bytes("0123456789"), 10));
  s.drop_front(0);
  EXPECT_EQ(contents(s), "0123456789");
  s.drop_front(3);
  EXPECT_EQ(contents(s), "3456789");
  s.drop_front(6);
  EXPECT_EQ(contents(s), "9");
  const uint32_t cap = s.capacity;
  s.drop_front(1);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.capacity, cap) << "dropping keeps the memory for reuse";
  ASSERT_TRUE(s.append(bytes("ab"), 2));
  EXPECT_EQ(contents(s), "ab");
  s.drop_front(100);  // more than held
  EXPECT_TRUE(s.empty());
  s.release();
}

TEST(Spill, ReleaseFreesAndResets) {
  Spill s;
  ASSERT_TRUE(s.append(bytes("abc"), 3));
  s.release();
  EXPECT_EQ(s.data, nullptr);
  EXPECT_EQ(s.size, 0u);
  EXPECT_EQ(s.capacity, 0u);
  EXPECT_TRUE(s.empty());
  ASSERT_TRUE(s.append(bytes("again"), 5));  // usable after release
  EXPECT_EQ(contents(s), "again");
  s.release();
  s.release();  // twice is harmless
}

TEST(Spill, PaddingAfterFirstAppend) {
  for (size_t n : {size_t(1), size_t(100), size_t(192), size_t(193), size_t(256), size_t(1000), size_t(70000)}) {
    Spill s;
    const std::string data(n, 'x');
    ASSERT_TRUE(s.append(bytes(data), n));
    expect_padding(s);
    s.release();
  }
}

// Appends that fit the current capacity must keep the padding too: 100
// bytes give a 256-byte buffer; another 150 fit (250 <= 256) but leave only
// 6 spare bytes, not 64.
TEST(Spill, PaddingKeptWhenAppendFitsCapacity) {
  Spill s;
  const std::string a(100, 'a'), b(150, 'b');
  ASSERT_TRUE(s.append(bytes(a), a.size()));
  expect_padding(s);
  ASSERT_TRUE(s.append(bytes(b), b.size()));
  expect_padding(s);
  s.release();
}

TEST(Spill, PaddingAlwaysHolds) {
  std::mt19937 rng(3);
  Spill s;
  std::string model;
  for (int i = 0; i < 5000; ++i) {
    if (rng() % 4 == 0) {
      const size_t n = rng() % (model.size() + 1);
      s.drop_front(n);
      model.erase(0, n);
    } else {
      const std::string piece(rng() % 300, char('a' + i % 26));
      ASSERT_TRUE(s.append(bytes(piece), piece.size()));
      model += piece;
    }
    ASSERT_EQ(contents(s), model);
    if (!s.empty() && size_t(s.capacity) < size_t(s.size) + kSpillPadding) {
      ADD_FAILURE() << "step " << i << ": size " << s.size << " capacity " << s.capacity
                    << " leaves less than kSpillPadding";
      break;
    }
  }
  s.release();
}

}  // namespace
}  // namespace ringcast::protocol
