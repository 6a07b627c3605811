// Helpers shared by the http unit tests.
#pragma once

#include <string>
#include <string_view>

#include "../guarded.hpp"

namespace ringcast::http::test {

// Transcripts are written with plain "\n" so they read like a capture; the
// wire has CRLF.
inline std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// A guard-page copy of bytes (tests/unit/guarded.hpp).
using ringcast::test::Guarded;

}  // namespace ringcast::http::test
