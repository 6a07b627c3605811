#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/response.hpp"
#include "test_support.hpp"
#include "transcripts.hpp"

namespace ringcast::ws {
namespace {

using http::test::crlf;

// Parses a transcript (written with "\n") and validates it. Keeps the bytes
// alive alongside the head, since the head's views point into them.
struct Attempt {
  std::string bytes;
  http::RequestHead head;
  HandshakeResult result;

  explicit Attempt(std::string_view text, std::span<const std::string> offered = {})
      : bytes(crlf(text)) {
    const http::HeadError err = http::parse_request_head(bytes, head);
    EXPECT_EQ(err, http::HeadError::none) << text;
    result = validate_upgrade(head, offered);
  }
  std::string_view accept() const { return {result.accept, 28}; }
};

// A minimal valid handshake; each rejection test breaks exactly one thing.
constexpr std::string_view kGood =
    "GET /echo HTTP/1.1\n"
    "Host: gw.example\n"
    "Upgrade: websocket\n"
    "Connection: Upgrade\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
    "Sec-WebSocket-Version: 13\n"
    "\n";

std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string s(text);
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  return s;
}

// ---- accept key -----------------------------------------------------------------

TEST(AcceptKey, Rfc6455Example) {
  // RFC 6455 section 1.3.
  char out[28];
  compute_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
  EXPECT_EQ(std::string_view(out, 28), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(AcceptKey, MoreVectors) {
  // Checked with Python: base64(sha1(key + GUID)).
  const std::pair<const char*, const char*> vectors[] = {
      {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
      {"+jMX9ntrhnAT4NPjOGs9Ag==", "YqM+hZQK6nN3kZsGLBCHu2RkeAo="},
      {"oWRqwEjlJkrqHotmjDC7LA==", "9eND73USxtLWKK8zVfoJnPD8V1k="},
  };
  for (const auto& [key, expected] : vectors) {
    char out[28];
    compute_accept_key(key, out);
    EXPECT_EQ(std::string_view(out, 28), expected) << key;
  }
}

// ---- real clients are accepted ------------------------------------------------

TEST(Handshake, RealClientsAreAccepted) {
  const std::pair<std::string_view, std::string_view> clients[] = {
      {http::test::kChrome, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
      {http::test::kFirefox, "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
      {http::test::kPythonWebsockets, "YqM+hZQK6nN3kZsGLBCHu2RkeAo="},
      {http::test::kNodeWs, "9eND73USxtLWKK8zVfoJnPD8V1k="},
  };
  for (const auto& [text, accept] : clients) {
    Attempt a(text);
    EXPECT_EQ(a.result.status, 101) << a.result.reason << "\n" << text;
    EXPECT_EQ(a.result.reason, reason::kAccepted);
    EXPECT_EQ(a.accept(), accept);
    EXPECT_TRUE(a.result.subprotocol.empty());
  }
}

TEST(Handshake, MinimalRequestIsAccepted) {
  Attempt a(kGood);
  EXPECT_EQ(a.result.status, 101);
}

// ---- each status, in rule order ------------------------------------------------

struct Rejection {
  const char* why;
  std::string request;
  int status;
  std::string_view reason;
};

std::vector<Rejection> rejections() {
  return {
      {"POST", replace(kGood, "GET", "POST"), 405, reason::kNotGet},
      {"HEAD", replace(kGood, "GET", "HEAD"), 405, reason::kNotGet},
      {"POST over HTTP/1.0 is still 405 first",
       replace(replace(kGood, "GET", "POST"), "HTTP/1.1", "HTTP/1.0"), 405, reason::kNotGet},
      {"HTTP/1.0", replace(kGood, "HTTP/1.1", "HTTP/1.0"), 400, reason::kOldHttp},
      {"Content-Length body", replace(kGood, "Host:", "Content-Length: 3\nHost:"), 400, reason::kHasBody},
      {"chunked body", replace(kGood, "Host:", "Transfer-Encoding: chunked\nHost:"), 400,
       reason::kHasBody},
      {"no Host", replace(kGood, "Host: gw.example\n", ""), 400, reason::kBadHost},
      {"empty Host", replace(kGood, "Host: gw.example", "Host:"), 400, reason::kBadHost},
      {"two Hosts", replace(kGood, "Host: gw.example", "Host: a\nHost: b"), 400, reason::kBadHost},
      {"plain GET", replace(replace(kGood, "Upgrade: websocket\n", ""), "Connection: Upgrade\n", ""), 426,
       reason::kNoUpgrade},
      {"no Upgrade but Connection: upgrade", replace(kGood, "Upgrade: websocket\n", ""), 426,
       reason::kNoUpgrade},
      {"Upgrade: h2c", replace(kGood, "Upgrade: websocket", "Upgrade: h2c"), 400,
       reason::kUpgradeNotWebSocket},
      {"Upgrade: empty", replace(kGood, "Upgrade: websocket", "Upgrade:"), 400,
       reason::kUpgradeNotWebSocket},
      {"Upgrade: websockets", replace(kGood, "Upgrade: websocket", "Upgrade: websockets"), 400,
       reason::kUpgradeNotWebSocket},
      {"no Connection", replace(kGood, "Connection: Upgrade\n", ""), 400, reason::kConnectionNotUpgrade},
      {"Connection: keep-alive", replace(kGood, "Connection: Upgrade", "Connection: keep-alive"), 400,
       reason::kConnectionNotUpgrade},
      {"Connection: upgraded", replace(kGood, "Connection: Upgrade", "Connection: upgraded"), 400,
       reason::kConnectionNotUpgrade},
      {"no key", replace(kGood, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n", ""), 400,
       reason::kMissingKey},
      {"two keys",
       replace(kGood, "Sec-WebSocket-Version", "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\nSec-WebSocket-Version"),
       400, reason::kDuplicateKey},
      {"key of 15 bytes", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ="), 400,
       reason::kBadKey},
      {"key of 17 bytes", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZSE="), 400,
       reason::kBadKey},
      {"key without padding", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQAA"), 400,
       reason::kBadKey},
      {"key with url-safe chars", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j_-=="), 400,
       reason::kBadKey},
      {"key with inner space", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBs ZSBub25jZQ=="), 400,
       reason::kBadKey},
      {"key with pad inside", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j=Q=="), 400,
       reason::kBadKey},
      {"key list", replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ==, x3JJHMbDL1EzLkh9GBhXDw=="),
       400, reason::kBadKey},
      {"empty key", replace(kGood, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Key:"), 400,
       reason::kBadKey},
      {"no version", replace(kGood, "Sec-WebSocket-Version: 13\n", ""), 400, reason::kMissingVersion},
      {"two versions", replace(kGood, "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 13\nSec-WebSocket-Version: 13"),
       400, reason::kDuplicateVersion},
      {"version 8", replace(kGood, "Version: 13", "Version: 8"), 426, reason::kBadVersion},
      {"version list", replace(kGood, "Version: 13", "Version: 13, 8"), 426, reason::kBadVersion},
      {"version 013", replace(kGood, "Version: 13", "Version: 013"), 426, reason::kBadVersion},
      {"empty version", replace(kGood, "Version: 13", "Version:"), 426, reason::kBadVersion},
  };
}

TEST(Handshake, EachRejectionHasItsStatus) {
  for (const Rejection& r : rejections()) {
    Attempt a(r.request);
    EXPECT_EQ(a.result.status, r.status) << r.why;
    EXPECT_EQ(a.result.reason, r.reason) << r.why;
    EXPECT_FALSE(rejection_response(a.result).empty()) << r.why;
  }
}

TEST(Handshake, RejectionResponsePicksThe426Variant) {
  Attempt plain(http::test::kCurlHealthz);
  ASSERT_EQ(plain.result.status, 426);
  EXPECT_EQ(rejection_response(plain.result), http::upgrade_required_response());
  EXPECT_EQ(rejection_response(plain.result).find("Sec-WebSocket-Version"), std::string_view::npos);

  Attempt old_version(replace(kGood, "Version: 13", "Version: 8"));
  ASSERT_EQ(old_version.result.status, 426);
  EXPECT_EQ(rejection_response(old_version.result), http::error_response(426));
  EXPECT_NE(rejection_response(old_version.result).find("Sec-WebSocket-Version: 13\r\n"),
            std::string_view::npos);

  Attempt post(replace(kGood, "GET", "POST"));
  EXPECT_EQ(rejection_response(post.result), http::error_response(405));
}

// ---- token-list edge cases that must still be accepted --------------------------

TEST(Handshake, TokenListVariantsAreAccepted) {
  const std::string variants[] = {
      replace(kGood, "Upgrade: websocket", "Upgrade: WebSocket"),
      replace(kGood, "Upgrade: websocket", "Upgrade: WEBSOCKET"),
      replace(kGood, "Upgrade: websocket", "Upgrade: foo/2, websocket"),
      replace(kGood, "Upgrade: websocket", "Upgrade: foo\nUpgrade: websocket"),
      replace(kGood, "Connection: Upgrade", "Connection: upgrade"),
      replace(kGood, "Connection: Upgrade", "Connection: keep-alive, Upgrade"),
      replace(kGood, "Connection: Upgrade", "Connection: keep-alive,upgrade ,"),
      replace(kGood, "Connection: Upgrade", "Connection: keep-alive\nConnection: UPGRADE"),
      replace(kGood, "Connection: Upgrade", "Connection:\t Upgrade \t"),
      replace(kGood, "Host: gw.example", "host: gw.example:443"),
      replace(kGood, "Sec-WebSocket-Version: 13", "sec-websocket-version:   13  "),
      replace(kGood, "Sec-WebSocket-Key", "SEC-WEBSOCKET-KEY"),
  };
  for (const std::string& v : variants) {
    Attempt a(v);
    EXPECT_EQ(a.result.status, 101) << a.result.reason << "\n" << v;
    EXPECT_EQ(a.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  }
}

TEST(Handshake, KeyWithNonZeroSpareBitsIsAccepted) {
  // "…ZR==" and "…ZQ==" both decode to 16 bytes; clients never send the
  // former, but it is not wrong.
  Attempt a(replace(kGood, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZR=="));
  EXPECT_EQ(a.result.status, 101);
}

// ---- subprotocols ---------------------------------------------------------------

std::string with_protocols(std::string_view header_lines) {
  return replace(kGood, "Sec-WebSocket-Version", std::string(header_lines) + "\nSec-WebSocket-Version");
}

TEST(Subprotocol, FirstOfTheClientsListThatIsOffered) {
  const std::vector<std::string> offered = {"superchat", "chat"};
  Attempt a(http::test::kFirefox, offered);  // client: "chat, superchat"
  ASSERT_EQ(a.result.status, 101);
  EXPECT_EQ(a.result.subprotocol, "chat");
  EXPECT_EQ(a.result.subprotocol.data(), offered[1].data());  // points into `offered`
}

TEST(Subprotocol, Selection) {
  struct Case {
    const char* why;
    const char* lines;
    std::vector<std::string> offered;
    std::string_view chosen;
  };
  const Case cases[] = {
      {"none offered by client", "X-None: 1", {"chat"}, ""},
      {"none offered by server", "Sec-WebSocket-Protocol: chat", {}, ""},
      {"no overlap", "Sec-WebSocket-Protocol: a, b", {"c", "d"}, ""},
      {"client order wins", "Sec-WebSocket-Protocol: b, a", {"a", "b"}, "b"},
      {"skips unknown", "Sec-WebSocket-Protocol: v2.json, v1.json", {"v1.json"}, "v1.json"},
      {"second header", "Sec-WebSocket-Protocol: x\nSec-WebSocket-Protocol: mqtt", {"mqtt"}, "mqtt"},
      {"first header first", "Sec-WebSocket-Protocol: b\nSec-WebSocket-Protocol: a", {"a", "b"}, "b"},
      {"case-sensitive", "Sec-WebSocket-Protocol: Chat", {"chat"}, ""},
      {"trimmed, empty skipped", "Sec-WebSocket-Protocol: ,  graphql-ws ,", {"graphql-ws"}, "graphql-ws"},
      {"not a prefix", "Sec-WebSocket-Protocol: chatty", {"chat"}, ""},
  };
  for (const Case& c : cases) {
    Attempt a(with_protocols(c.lines), c.offered);
    ASSERT_EQ(a.result.status, 101) << c.why;
    EXPECT_EQ(a.result.subprotocol, c.chosen) << c.why;
  }
}

// ---- the 101 answer -------------------------------------------------------------

TEST(UpgradeResponse, WithoutSubprotocol) {
  Attempt a(kGood);
  char buf[kUpgradeResponseMax];
  const size_t n = write_upgrade_response(buf, sizeof buf, a.result);
  EXPECT_EQ(std::string_view(buf, n),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
  EXPECT_EQ(n, kUpgradeResponseBase);
}

TEST(UpgradeResponse, WithSubprotocol) {
  const std::vector<std::string> offered = {"chat"};
  Attempt a(http::test::kFirefox, offered);
  char buf[kUpgradeResponseMax];
  const size_t n = write_upgrade_response(buf, sizeof buf, a.result);
  EXPECT_EQ(std::string_view(buf, n),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n"
            "Sec-WebSocket-Protocol: chat\r\n"
            "\r\n");
}

TEST(UpgradeResponse, CapIsRespected) {
  const std::vector<std::string> offered = {"chat"};
  Attempt a(http::test::kFirefox, offered);
  char buf[kUpgradeResponseMax];
  const size_t need = write_upgrade_response(buf, sizeof buf, a.result);
  ASSERT_GT(need, 0u);
  EXPECT_EQ(write_upgrade_response(buf, need - 1, a.result), 0u);
  EXPECT_EQ(write_upgrade_response(buf, need, a.result), need);
  EXPECT_EQ(write_upgrade_response(buf, 0, a.result), 0u);
}

TEST(UpgradeResponse, LongestAllowedSubprotocolFitsTheMax) {
  const std::vector<std::string> offered = {std::string(kMaxSubprotocolLength, 'p')};
  Attempt a(with_protocols("Sec-WebSocket-Protocol: " + offered[0]), offered);
  ASSERT_EQ(a.result.subprotocol.size(), kMaxSubprotocolLength);
  char buf[kUpgradeResponseMax];
  EXPECT_EQ(write_upgrade_response(buf, sizeof buf, a.result), kUpgradeResponseMax);
}

TEST(UpgradeResponse, NothingForARejection) {
  Attempt a(replace(kGood, "GET", "POST"));
  char buf[kUpgradeResponseMax];
  EXPECT_EQ(write_upgrade_response(buf, sizeof buf, a.result), 0u);
}

}  // namespace
}  // namespace ringcast::ws
