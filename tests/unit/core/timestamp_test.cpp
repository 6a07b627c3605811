#include "protocol/timestamp.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <thread>

namespace ringcast::protocol {
namespace {

std::string ts(uint64_t wall_ms) {
  std::string out(kTimestampLength + 4, '#');
  format_timestamp(wall_ms, out.data());
  EXPECT_EQ(out.substr(kTimestampLength), "####") << "wrote past kTimestampLength";
  out.resize(kTimestampLength);
  return out;
}

// Milliseconds since the epoch of a UTC civil time (days_from_civil, H. Hinnant).
uint64_t utc_ms(int y, unsigned m, unsigned d, unsigned hh, unsigned mm, unsigned ss, unsigned ms) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t(era) * 146097 + int64_t(doe) - 719468;
  return uint64_t(((days * 24 + hh) * 60 + mm) * 60 + ss) * 1000 + ms;
}

TEST(Timestamp, LengthConstant) { EXPECT_EQ(kTimestampLength, std::string("2026-11-25T10:57:17.123Z").size()); }

TEST(Timestamp, Epoch) { EXPECT_EQ(ts(0), "1970-01-01T00:00:00.000Z"); }

TEST(Timestamp, KnownInstants) {
  EXPECT_EQ(ts(1), "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(ts(999), "1970-01-01T00:00:00.999Z");
  EXPECT_EQ(ts(1000), "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(ts(86'400'000 - 1), "1970-01-01T23:59:59.999Z");
  EXPECT_EQ(ts(1'000'000'000'000), "2001-09-09T01:46:40.000Z");
  EXPECT_EQ(ts(1'234'567'890'123), "2009-02-13T23:31:30.123Z");
  EXPECT_EQ(ts(utc_ms(2026, 11, 25, 10, 57, 17, 123)), "2026-11-25T10:57:17.123Z");
  EXPECT_EQ(ts(utc_ms(2038, 1, 19, 3, 14, 8, 0)), "2038-01-19T03:14:08.000Z") << "past 32-bit time_t";
  EXPECT_EQ(ts(utc_ms(9999, 12, 31, 23, 59, 59, 999)), "9999-12-31T23:59:59.999Z");
}

TEST(Timestamp, LeapDay) {
  EXPECT_EQ(ts(utc_ms(2024, 2, 29, 23, 59, 59, 999)), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(ts(utc_ms(2024, 2, 29, 23, 59, 59, 999) + 1), "2024-03-01T00:00:00.000Z");
  EXPECT_EQ(ts(utc_ms(2023, 2, 28, 23, 59, 59, 999) + 1), "2023-03-01T00:00:00.000Z");
  EXPECT_EQ(ts(utc_ms(2000, 2, 28, 23, 59, 59, 0) + 1000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(ts(utc_ms(2100, 2, 28, 23, 59, 59, 0) + 1000), "2100-03-01T00:00:00.000Z");
}

TEST(Timestamp, MillisecondRollover) {
  const uint64_t base = utc_ms(2025, 12, 31, 23, 59, 59, 0);
  EXPECT_EQ(ts(base + 998), "2025-12-31T23:59:59.998Z");
  EXPECT_EQ(ts(base + 999), "2025-12-31T23:59:59.999Z");
  EXPECT_EQ(ts(base + 1000), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(ts(base + 1001), "2026-01-01T00:00:00.001Z");
  EXPECT_EQ(ts(base + 1010), "2026-01-01T00:00:00.010Z");
  EXPECT_EQ(ts(base + 1100), "2026-01-01T00:00:00.100Z");
}

TEST(Timestamp, EveryMillisecondWithinASecond) {
  const uint64_t base = utc_ms(2026, 6, 15, 12, 0, 0, 0);
  for (unsigned ms = 0; ms < 1000; ++ms) {
    char expected[32];
    std::snprintf(expected, sizeof(expected), "2026-06-15T12:00:00.%03uZ", ms);
    ASSERT_EQ(ts(base + ms), expected);
  }
}

TEST(Timestamp, Shape) {
  const std::regex shape(R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z)");
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t t = rng() % utc_ms(9999, 12, 31, 23, 59, 59, 999);
    const std::string s = ts(t);
    ASSERT_TRUE(std::regex_match(s, shape)) << t << " -> " << s;
  }
}

// The date part is cached per second; the cache must follow the clock in
// both directions and never hand out the previous second's date.
TEST(Timestamp, CacheFollowsTimeBackwardsAndForwards) {
  const uint64_t a = utc_ms(2024, 2, 29, 23, 59, 59, 500);
  const uint64_t b = utc_ms(2024, 3, 1, 0, 0, 0, 500);
  const uint64_t c = utc_ms(1999, 12, 31, 23, 59, 59, 999);
  EXPECT_EQ(ts(a), "2024-02-29T23:59:59.500Z");
  EXPECT_EQ(ts(b), "2024-03-01T00:00:00.500Z");
  EXPECT_EQ(ts(a), "2024-02-29T23:59:59.500Z") << "backwards by one second";
  EXPECT_EQ(ts(c), "1999-12-31T23:59:59.999Z") << "backwards by years";
  EXPECT_EQ(ts(c + 1), "2000-01-01T00:00:00.000Z") << "forwards by one ms into a new second";
  EXPECT_EQ(ts(c), "1999-12-31T23:59:59.999Z");
  // Same second as the cache, different millisecond.
  EXPECT_EQ(ts(c - 5), "1999-12-31T23:59:59.994Z");
  // 1000 s later: a different second with the same millisecond.
  EXPECT_EQ(ts(b + 1'000'000), "2024-03-01T00:16:40.500Z");
  // Alternating between two seconds, many times.
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(ts(a + uint64_t(i % 7)), "2024-02-29T23:59:59.50" + std::to_string(i % 7) + "Z");
    ASSERT_EQ(ts(b), "2024-03-01T00:00:00.500Z");
  }
}

TEST(Timestamp, CacheIsPerThread) {
  const uint64_t mine = utc_ms(2020, 1, 1, 0, 0, 0, 0);
  const uint64_t theirs = utc_ms(2030, 1, 1, 0, 0, 0, 0);
  EXPECT_EQ(ts(mine), "2020-01-01T00:00:00.000Z");
  std::string other;
  std::thread t([&] {
    char buf[kTimestampLength];
    format_timestamp(theirs, buf);
    other.assign(buf, kTimestampLength);
  });
  t.join();
  EXPECT_EQ(other, "2030-01-01T00:00:00.000Z");
  EXPECT_EQ(ts(mine + 1), "2020-01-01T00:00:00.001Z");
}

}  // namespace
}  // namespace ringcast::protocol
