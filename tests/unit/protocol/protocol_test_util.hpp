// Helpers shared by the protocol unit tests: parsing a message the way the
// receive path hands it over (followed by exactly SIMDJSON_PADDING readable
// bytes, then a PROT_NONE page, so an over-read crashes), and comparing two
// parsed documents value by value.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "protocol/envelope.hpp"

namespace ringcast::protocol::test {

// Holds one message in an mmap'd region: the text, SIMDJSON_PADDING bytes of
// padding, then a guard page.
class GuardedText {
 public:
  explicit GuardedText(std::string_view text) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t need = text.size() + simdjson::SIMDJSON_PADDING;
    const size_t data_pages = (need + page - 1) / page;
    map_bytes_ = (data_pages + 1) * page;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      ADD_FAILURE() << "mmap failed";
      map_ = nullptr;
      return;
    }
    map_ = static_cast<uint8_t*>(m);
    uint8_t* guard = map_ + data_pages * page;
    mprotect(guard, page, PROT_NONE);
    data_ = guard - need;
    std::memcpy(data_, text.data(), text.size());
    // The padding is garbage on purpose: the parser must not depend on it.
    std::memset(data_ + text.size(), 'x', simdjson::SIMDJSON_PADDING);
    size_ = text.size();
  }
  ~GuardedText() {
    if (map_) munmap(map_, map_bytes_);
  }
  GuardedText(const GuardedText&) = delete;
  GuardedText& operator=(const GuardedText&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// One parse: keeps the text and the parser alive as long as the Envelope's
// views into them.
struct Parsed {
  explicit Parsed(std::string_view text, EnvelopeRules rules) : buf(text) {
    ok = parse_envelope(parser, buf.data(), buf.size(), rules, &env, &err);
  }
  GuardedText buf;
  simdjson::dom::parser parser;
  Envelope env;
  EnvelopeError err;
  bool ok = false;
};

inline constexpr EnvelopeRules kEnvelopeRules{"type", true};
inline constexpr EnvelopeRules kActionRules{"action", false};

// Structural equality of two parsed values: same types, same numbers, same
// strings, object members in the same order.
inline testing::AssertionResult same_value(simdjson::dom::element a, simdjson::dom::element b,
                                           const std::string& where = "$") {
  using simdjson::dom::element_type;
  if (a.type() != b.type())
    return testing::AssertionFailure() << where << ": type " << char(a.type()) << " vs " << char(b.type());
  switch (a.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object oa = a.get_object().value_unsafe(), ob = b.get_object().value_unsafe();
      if (oa.size() != ob.size()) return testing::AssertionFailure() << where << ": object sizes differ";
      auto ib = ob.begin();
      for (auto ia = oa.begin(); ia != oa.end(); ++ia, ++ib) {
        if (ia.key() != ib.key())
          return testing::AssertionFailure() << where << ": key " << ia.key() << " vs " << ib.key();
        auto r = same_value(ia.value(), ib.value(), where + "." + std::string(ia.key()));
        if (!r) return r;
      }
      return testing::AssertionSuccess();
    }
    case element_type::ARRAY: {
      simdjson::dom::array aa = a.get_array().value_unsafe(), ab = b.get_array().value_unsafe();
      if (aa.size() != ab.size()) return testing::AssertionFailure() << where << ": array sizes differ";
      size_t i = 0;
      auto ib = ab.begin();
      for (auto ia = aa.begin(); ia != aa.end(); ++ia, ++ib, ++i) {
        auto r = same_value(*ia, *ib, where + "[" + std::to_string(i) + "]");
        if (!r) return r;
      }
      return testing::AssertionSuccess();
    }
    case element_type::STRING:
      if (a.get_string().value_unsafe() != b.get_string().value_unsafe())
        return testing::AssertionFailure() << where << ": strings differ";
      return testing::AssertionSuccess();
    case element_type::INT64:
      if (a.get_int64().value_unsafe() != b.get_int64().value_unsafe())
        return testing::AssertionFailure() << where << ": int64 differ";
      return testing::AssertionSuccess();
    case element_type::UINT64:
      if (a.get_uint64().value_unsafe() != b.get_uint64().value_unsafe())
        return testing::AssertionFailure() << where << ": uint64 differ";
      return testing::AssertionSuccess();
    case element_type::DOUBLE: {
      const double x = a.get_double().value_unsafe(), y = b.get_double().value_unsafe();
      // Bitwise, so that -0.0 and 0.0 differ.
      if (std::memcmp(&x, &y, sizeof(x)) != 0)
        return testing::AssertionFailure() << where << ": doubles " << x << " vs " << y;
      return testing::AssertionSuccess();
    }
    case element_type::BOOL:
      if (a.get_bool().value_unsafe() != b.get_bool().value_unsafe())
        return testing::AssertionFailure() << where << ": bools differ";
      return testing::AssertionSuccess();
    case element_type::NULL_VALUE:
      return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << where << ": unknown type";
}

}  // namespace ringcast::protocol::test
