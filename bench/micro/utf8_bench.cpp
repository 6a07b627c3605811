// UTF-8 validation of text messages, in GB/s: ASCII (the common case for
// JSON traffic) and mixed multi-byte text, whole-buffer and incremental.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ws/utf8.hpp"

namespace {

// len bytes of valid UTF-8 cut at a code point boundary (possibly a few
// bytes short of len for multibyte text).
std::vector<uint8_t> make_text(size_t len, bool multibyte) {
  // 1-, 2-, 3- and 4-byte code points: "aé€😀" and CJK, as in chat text.
  static const std::string kAscii = "{\"type\":\"echo\",\"message\":\"hello world 0123456789\"}";
  static const std::string kMixed = "h\xC3\xA9llo \xE2\x82\xAC 5 \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 na\xC3\xAFve ";
  const std::string& unit = multibyte ? kMixed : kAscii;
  std::string s;
  while (s.size() + unit.size() <= len) s += unit;
  for (char c : unit) {  // top up with whole code points only
    if (s.size() >= len) break;
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) break;
    s += c;
  }
  return std::vector<uint8_t>(s.begin(), s.end());
}

void validate_whole(benchmark::State& state, bool multibyte) {
  const std::vector<uint8_t> text = make_text(size_t(state.range(0)), multibyte);
  if (!ringcast::ws::utf8_valid(text.data(), text.size())) {
    state.SkipWithError("test text is not valid UTF-8");
    return;
  }
  for (auto _ : state) {
    bool ok = ringcast::ws::utf8_valid(text.data(), text.size());
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
}

void BM_Utf8Ascii(benchmark::State& state) { validate_whole(state, false); }
void BM_Utf8Mixed(benchmark::State& state) { validate_whole(state, true); }

// The parser's path: the incremental validator fed in 1460-byte pieces (one
// TCP segment each), split wherever they fall, even inside a code point.
void BM_Utf8MixedIncremental(benchmark::State& state) {
  const std::vector<uint8_t> text = make_text(size_t(state.range(0)), true);
  constexpr size_t kPiece = 1460;
  for (auto _ : state) {
    ringcast::ws::Utf8Validator v;
    bool ok = true;
    for (size_t i = 0; i < text.size() && ok; i += kPiece) {
      const size_t n = text.size() - i < kPiece ? text.size() - i : kPiece;
      ok = v.feed(text.data() + i, n);
    }
    ok = ok && v.complete();
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(int64_t(state.iterations() * text.size()));
}

}  // namespace

BENCHMARK(BM_Utf8Ascii)->Arg(16)->Arg(125)->Arg(1024)->Arg(16384)->Arg(65536);
BENCHMARK(BM_Utf8Mixed)->Arg(125)->Arg(1024)->Arg(16384)->Arg(65536);
BENCHMARK(BM_Utf8MixedIncremental)->Arg(65536);
