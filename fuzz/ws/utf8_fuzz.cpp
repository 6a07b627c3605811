// libFuzzer target for ws::Utf8Validator / utf8_valid: differential against
// the slow reference decoder in tests/unit/ws/utf8_reference.hpp.
//
// Input: byte 0 picks where the rest is split into two feeds; the rest is the
// text. Checks whole-buffer validity, the two-feed result, and (for short
// inputs) that feeding one byte at a time fails exactly at the first byte
// after which no valid completion exists.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "../../tests/unit/ws/utf8_reference.hpp"
#include "../fuzz_check.hpp"
#include "ws/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringcast::ws;
  if (size == 0) return 0;
  const size_t n = size - 1;
  // An exact-size copy, so an over-read past the text is an ASan report.
  std::unique_ptr<uint8_t[]> text(new uint8_t[n ? n : 1]);
  if (n) std::memcpy(text.get(), data + 1, n);
  const uint8_t* p = text.get();
  const size_t cut = data[0] % (n + 1);

  const reference::Utf8 want = reference::check_utf8(p, n);
  FUZZ_CHECK(utf8_valid(p, n) == (want == reference::Utf8::valid));

  Utf8Validator v;
  const bool first = v.feed(p, cut);
  FUZZ_CHECK(first == reference::utf8_prefix_ok(p, cut));
  if (first) {
    const bool second = v.feed(p + cut, n - cut);
    FUZZ_CHECK(second == (want != reference::Utf8::invalid));
    FUZZ_CHECK(!second || v.complete() == (want == reference::Utf8::valid));
  }

  if (n <= 256) {
    Utf8Validator bytewise;
    for (size_t i = 0; i < n; ++i) {
      const bool ok = bytewise.feed(p + i, 1);
      FUZZ_CHECK(ok == reference::utf8_prefix_ok(p, i + 1));
      if (!ok) break;
    }
  }
  return 0;
}
