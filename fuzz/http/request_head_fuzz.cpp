// Request heads as they arrive from a socket: in pieces. The input is fed to
// find_head_end in chunks (sizes from a generator seeded by the input, so the
// seeds stay plain HTTP), then the head goes through parse_request_head,
// validate_upgrade and, if accepted, write_upgrade_response, the way the
// connection code chains them. Invariants that must hold for any input trap.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "http/request_head.hpp"
#include "http/response.hpp"
#include "ws/handshake.hpp"

namespace {

using namespace ringcast;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

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
  check(head_len == http::find_head_end(input, 0));
  if (head_len == 0) return 0;
  check(head_len <= size);

  // Own allocation of exactly the head, so reading past it is caught even
  // when pipelined bytes follow it in the input.
  std::unique_ptr<char[]> copy(new char[head_len]);
  std::memcpy(copy.get(), data, head_len);
  const std::string_view head(copy.get(), head_len);

  http::RequestHead parsed;
  const http::HeadError err = http::parse_request_head(head, parsed);
  if (err == http::HeadError::too_many_headers) {
    check(!http::error_response(431).empty());
    return 0;
  }
  if (err != http::HeadError::none) return 0;

  check(parsed.header_count <= http::kMaxHeaders);
  check(!parsed.method.empty() && !parsed.target.empty());
  check(parsed.version_major == 1 && parsed.version_minor <= 1);
  check(inside(parsed.method, head) && inside(parsed.target, head));
  check(inside(parsed.path, parsed.target) && inside(parsed.query, parsed.target));
  for (uint16_t i = 0; i < parsed.header_count; ++i) {
    const http::Header& h = parsed.headers[i];
    check(!h.name.empty() && inside(h.name, head) && inside(h.value, head));
    check(h.value.find_first_of("\r\n") == std::string_view::npos);
    check(parsed.find(h.name) != nullptr);
  }

  static const std::string offered_storage[] = {"chat", "superchat", "graphql-ws", "v1.json"};
  const ws::HandshakeResult r = ws::validate_upgrade(parsed, offered_storage);
  if (r.status != 101) {
    check(!ws::rejection_response(r).empty());
    check(!r.reason.empty());
    return 0;
  }
  char out[ws::kUpgradeResponseMax];
  const size_t n = ws::write_upgrade_response(out, sizeof out, r);
  check(n >= ws::kUpgradeResponseBase && n <= sizeof out);
  check(std::string_view(out, n).ends_with("\r\n\r\n"));
  check(http::find_head_end(std::string_view(out, n), 0) == n);
  return 0;
}
