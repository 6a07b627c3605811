// Request heads as they arrive from a socket: in pieces. The input is fed to
// find_head_end in chunks (sizes from a generator seeded by the input, so the
// seeds stay plain HTTP), then the head goes through parse_request_head,
// validate_upgrade and, if accepted, write_upgrade_response, the way the
// connection code chains them. Invariants that must hold for any input trap.
// A head that parses must also have been plausible at every earlier point of
// its arrival (head_prefix_plausible, as the gateway asks it while the head is
// incomplete): a valid request must never be answered 400 early.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "../fuzz_check.hpp"
#include "http/request_head.hpp"
#include "http/response.hpp"
#include "ws/handshake.hpp"

namespace {

using namespace ringcast;

bool inside(std::string_view v, std::string_view all) {
  return v.empty() || (v.data() >= all.data() && v.data() + v.size() <= all.data() + all.size());
}

// Chunk sizes 1..64, varied per input so libFuzzer explores splits too.
struct Splitter {
  uint32_t state;
  size_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return 1 + state % 64;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Incremental search must agree with a one-shot search of the same bytes.
  Splitter split{static_cast<uint32_t>(size * 2654435761u) | 1u};
  size_t received = 0, searched = 0, head_len = 0;
  while (received < size && head_len == 0) {
    received = std::min(size, received + split.next());
    head_len = http::find_head_end(input.substr(0, received), searched);
    searched = received;
  }
  FUZZ_CHECK(head_len == http::find_head_end(input, 0));
  if (head_len == 0) return 0;
  FUZZ_CHECK(head_len <= size);

  // Own allocation of exactly the head, so reading past it is caught even
  // when pipelined bytes follow it in the input.
  std::unique_ptr<char[]> copy(new char[head_len]);
  std::memcpy(copy.get(), data, head_len);
  const std::string_view head(copy.get(), head_len);

  http::RequestHead parsed;
  const http::HeadError err = http::parse_request_head(head, parsed);
  if (err == http::HeadError::too_many_headers) {
    FUZZ_CHECK(!http::error_response(431).empty());
    return 0;
  }
  if (err != http::HeadError::none) return 0;

  // Every proper prefix (the gateway never asks once the head is complete)
  // must be plausible, asked incrementally: byte by byte, each call told how
  // far the previous one looked, and again in the chunk sizes used above.
  for (size_t n = 1, searched_until = 0; n < head_len; searched_until = n++) {
    FUZZ_CHECK(http::head_prefix_plausible(head.substr(0, n), searched_until));
  }
  Splitter resplit{static_cast<uint32_t>(size * 2654435761u) | 1u};
  for (size_t n = 0, searched_until = 0;; searched_until = n) {
    n = std::min(head_len - 1, n + resplit.next());
    if (n == searched_until) break;
    FUZZ_CHECK(http::head_prefix_plausible(head.substr(0, n), searched_until));
  }

  FUZZ_CHECK(parsed.header_count <= http::kMaxHeaders);
  FUZZ_CHECK(!parsed.method.empty() && !parsed.target.empty());
  FUZZ_CHECK(parsed.version_major == 1 && parsed.version_minor <= 1);
  FUZZ_CHECK(inside(parsed.method, head) && inside(parsed.target, head));
  FUZZ_CHECK(inside(parsed.path, parsed.target) && inside(parsed.query, parsed.target));
  for (uint16_t i = 0; i < parsed.header_count; ++i) {
    const http::Header& h = parsed.headers[i];
    FUZZ_CHECK(!h.name.empty() && inside(h.name, head) && inside(h.value, head));
    FUZZ_CHECK(h.value.find_first_of("\r\n") == std::string_view::npos);
    FUZZ_CHECK(parsed.find(h.name) != nullptr);
  }

  static const std::string offered_storage[] = {"chat", "superchat", "graphql-ws", "v1.json"};
  const ws::HandshakeResult r = ws::validate_upgrade(parsed, offered_storage);
  if (r.status != 101) {
    FUZZ_CHECK(!ws::rejection_response(r).empty());
    FUZZ_CHECK(!r.reason.empty());
    return 0;
  }
  char out[ws::kUpgradeResponseMax];
  const size_t n = ws::write_upgrade_response(out, sizeof out, r);
  FUZZ_CHECK(n >= ws::kUpgradeResponseBase && n <= sizeof out);
  FUZZ_CHECK(std::string_view(out, n).ends_with("\r\n\r\n"));
  FUZZ_CHECK(http::find_head_end(std::string_view(out, n), 0) == n);
  return 0;
}
