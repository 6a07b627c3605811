// HTTP responses as an upstream connection receives them: a stream of
// back-to-back responses, fed to ResponseParser in pieces (sizes from a
// generator seeded by the input, so the seeds stay plain HTTP) and, as the
// oracle, all at once. Both must see the same responses (status, keep-alive,
// Content-Type, body, where each ended), and whatever the input, the limits
// hold and nothing is read outside the bytes given. finish() runs at the end,
// as when the server closes the connection.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../fuzz_check.hpp"
#include "http/response_parser.hpp"

namespace {

using ringcast::http::ResponseParser;
using Result = ResponseParser::Result;

// Small limits, so that both are reached by inputs libFuzzer can make.
constexpr size_t kMaxBody = 4096;
constexpr size_t kMaxHead = 2048;
constexpr size_t kMaxResponses = 64;

struct Splitter {
  uint32_t state;
  size_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return 1 + state % 97;
  }
};

struct Seen {
  Result result;
  int status;
  bool keep_alive;
  std::string content_type, body;
  size_t end;
};

void check_answer(const ResponseParser& p) {
  FUZZ_CHECK(p.status() >= 200 && p.status() <= 999);
  FUZZ_CHECK(p.body().size() <= kMaxBody);
  const std::string_view ct = p.content_type();
  FUZZ_CHECK(ct.find_first_of("\r\n") == std::string_view::npos);
  FUZZ_CHECK(ct.empty() || (ct.back() != ' ' && ct.back() != '\t'));
  FUZZ_CHECK(ct.size() <= kMaxHead);
}

// piece == 0: all remaining bytes at once. Each piece is its own heap copy
// of exactly its size, so ASan catches a read past it.
std::vector<Seen> run(std::string_view input, size_t seed, bool split) {
  ResponseParser p(kMaxBody, kMaxHead);
  Splitter s{static_cast<uint32_t>(seed * 2654435761u) | 1u};
  std::vector<Seen> seen;
  size_t pos = 0;
  auto record = [&](Result r) {
    if (r == Result::complete) check_answer(p);
    seen.push_back({r, r == Result::complete ? p.status() : 0, p.keep_alive(),
                    r == Result::complete ? std::string(p.content_type()) : std::string(),
                    r == Result::complete ? std::string(p.body()) : std::string(), pos});
  };
  while (pos < input.size() && seen.size() < kMaxResponses) {
    const size_t n = split ? std::min(s.next(), input.size() - pos) : input.size() - pos;
    std::unique_ptr<char[]> piece(new char[n]);
    std::memcpy(piece.get(), input.data() + pos, n);
    size_t used = 0;
    const Result r = p.feed(std::string_view(piece.get(), n), &used);
    FUZZ_CHECK(used <= n);
    if (r == Result::error) {
      FUZZ_CHECK(p.error() != ResponseParser::Error::none);
      FUZZ_CHECK(!p.keep_alive());
      size_t again = 1;
      FUZZ_CHECK(p.feed(std::string_view(piece.get(), n), &again) == Result::error && again == 0);
      record(r);
      return seen;
    }
    FUZZ_CHECK(r == Result::complete || used == n);
    pos += used;
    if (r == Result::complete) {
      record(r);
      // A response's last byte is never its first: a complete answer used some.
      FUZZ_CHECK(p.started());
      if (!p.keep_alive()) return seen;  // the gateway closes such a connection
      p.reset();
    }
  }
  const Result r = p.finish();
  if (r != Result::need_more) record(r);
  if (r == Result::complete) FUZZ_CHECK(!p.keep_alive());
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<Seen> whole = run(input, size, false);
  const std::vector<Seen> pieces = run(input, size, true);
  FUZZ_CHECK(whole.size() == pieces.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    FUZZ_CHECK(whole[i].result == pieces[i].result);
    if (whole[i].result != Result::complete) continue;
    FUZZ_CHECK(whole[i].status == pieces[i].status);
    FUZZ_CHECK(whole[i].keep_alive == pieces[i].keep_alive);
    FUZZ_CHECK(whole[i].content_type == pieces[i].content_type);
    FUZZ_CHECK(whole[i].body == pieces[i].body);
    FUZZ_CHECK(whole[i].end == pieces[i].end);
  }
  return 0;
}
