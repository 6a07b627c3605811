// Writing JSON into a reusable string: the per-reactor scratch where
// replies and published messages are composed before they are framed. The
// string keeps its capacity between messages, so a warm reactor does not
// allocate here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace ringcast::protocol {

class JsonOut {
 public:
  explicit JsonOut(std::string& buf) : buf_(buf) {}

  JsonOut& raw(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  // A JSON string: quotes and escapes added.
  JsonOut& str(std::string_view s);
  JsonOut& number(uint64_t v);
  // "2026-01-11T10:00:00.123Z", quoted.
  JsonOut& timestamp(uint64_t wall_ms);
  // Any parsed value, compact.
  JsonOut& element(simdjson::dom::element e);

  std::string& buffer() { return buf_; }

 private:
  std::string& buf_;
};

}  // namespace ringcast::protocol
