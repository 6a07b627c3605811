#include "http/request_head.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.hpp"
#include "transcripts.hpp"

namespace ringcast::http {
namespace {

using test::crlf;
using test::Guarded;

HeadError parse(std::string_view head, RequestHead& out) { return parse_request_head(head, out); }

// ---- transcripts of real clients ------------------------------------------

TEST(RequestHead, ChromeUpgrade) {
  const std::string req = crlf(test::kChrome);
  Guarded g(req);
  RequestHead h;
  ASSERT_EQ(parse(g.view(), h), HeadError::none);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/chat?room=lobby");
  EXPECT_EQ(h.path, "/chat");
  EXPECT_EQ(h.query, "room=lobby");
  EXPECT_EQ(h.version_major, 1);
  EXPECT_EQ(h.version_minor, 1);
  EXPECT_EQ(h.header_count, 12);
  EXPECT_EQ(h.headers[0].name, "Host");
  EXPECT_EQ(h.headers[0].value, "example.com:8000");
  ASSERT_NE(h.find("sec-websocket-key"), nullptr);
  EXPECT_EQ(h.find("SEC-WEBSOCKET-KEY")->value, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(h.find("Sec-WebSocket-Extensions")->value, "permessage-deflate; client_max_window_bits");
  EXPECT_EQ(h.find("User-Agent")->value.substr(0, 11), "Mozilla/5.0");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_FALSE(h.has_body);
  EXPECT_TRUE(h.has_token("connection", "upgrade"));
  EXPECT_TRUE(h.has_token("Upgrade", "WebSocket"));
  EXPECT_EQ(h.find("X-Absent"), nullptr);
}

TEST(RequestHead, FirefoxUpgrade) {
  const std::string req = crlf(test::kFirefox);
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  EXPECT_EQ(h.path, "/chat");
  EXPECT_EQ(h.query, "");
  EXPECT_EQ(h.header_count, 17);
  EXPECT_TRUE(h.has_token("Connection", "keep-alive"));
  EXPECT_TRUE(h.has_token("Connection", "upgrade"));
  std::vector<std::string_view> protocols;
  h.for_each_token("Sec-WebSocket-Protocol", [&](std::string_view t) { protocols.push_back(t); });
  EXPECT_EQ(protocols, (std::vector<std::string_view>{"chat", "superchat"}));
  EXPECT_EQ(h.headers[h.header_count - 1].name, "Upgrade");
}

TEST(RequestHead, PythonWebsocketsUpgrade) {
  const std::string req = crlf(test::kPythonWebsockets);
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  EXPECT_EQ(h.target, "/echo");
  EXPECT_EQ(h.header_count, 7);
  EXPECT_EQ(h.find("User-Agent")->value, "Python/3.11 websockets/10.4");
}

TEST(RequestHead, NodeWsUpgrade) {
  const std::string req = crlf(test::kNodeWs);
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  EXPECT_EQ(h.header_count, 6);
  EXPECT_EQ(h.find("host")->value, "localhost:9001");
}

TEST(RequestHead, CurlHealthz) {
  const std::string req = crlf(test::kCurlHealthz);
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/healthz");
  EXPECT_EQ(h.header_count, 3);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(h.find("Upgrade"), nullptr);
}

TEST(RequestHead, HeadAndOtherMethodsParse) {
  RequestHead h;
  const std::string head = crlf("HEAD /healthz HTTP/1.1\nHost: a\n\n");
  ASSERT_EQ(parse(head, h), HeadError::none);
  EXPECT_EQ(h.method, "HEAD");
  const std::string post = crlf("POST /echo HTTP/1.1\nHost: a\nContent-Length: 2\n\n");
  ASSERT_EQ(parse(post, h), HeadError::none);
  EXPECT_EQ(h.method, "POST");
  EXPECT_TRUE(h.has_body);
  const std::string options = crlf("OPTIONS * HTTP/1.1\nHost: a\n\n");
  ASSERT_EQ(parse(options, h), HeadError::none);
  EXPECT_EQ(h.target, "*");
}

// ---- target split ---------------------------------------------------------

TEST(RequestHead, PathAndQuery) {
  struct Case {
    const char* target;
    std::string_view path, query;
  };
  const Case cases[] = {
      {"/", "/", ""},
      {"/a/b", "/a/b", ""},
      {"/a?", "/a", ""},
      {"/a?x=1&y=2", "/a", "x=1&y=2"},
      {"/a?b?c", "/a", "b?c"},
      {"/ws?token=eyJhbGciOi.x_y-z%2F", "/ws", "token=eyJhbGciOi.x_y-z%2F"},
      {"http://example.com/chat?x", "http://example.com/chat", "x"},
  };
  for (const Case& c : cases) {
    const std::string req = crlf(std::string("GET ") + c.target + " HTTP/1.1\nHost: a\n\n");
    RequestHead h;
    ASSERT_EQ(parse(req, h), HeadError::none) << c.target;
    EXPECT_EQ(h.target, c.target);
    EXPECT_EQ(h.path, c.path) << c.target;
    EXPECT_EQ(h.query, c.query) << c.target;
  }
}

// ---- header values ----------------------------------------------------------

TEST(RequestHead, ValuesAreTrimmedAndMayBeEmpty) {
  const std::string req = crlf("GET / HTTP/1.1\nHost:a\nX-Pad: \t a  b \t \nX-Empty:\nX-Spaces:   \n\n");
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  ASSERT_EQ(h.header_count, 4);
  EXPECT_EQ(h.headers[0].value, "a");
  EXPECT_EQ(h.headers[1].value, "a  b");
  EXPECT_EQ(h.headers[2].name, "X-Empty");
  EXPECT_EQ(h.headers[2].value, "");
  EXPECT_EQ(h.headers[3].value, "");
}

TEST(RequestHead, ObsTextInValueIsAccepted) {
  const std::string req = crlf("GET / HTTP/1.1\nHost: a\nX-Name: caf\xc3\xa9\n\n");
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  EXPECT_EQ(h.find("x-name")->value, "caf\xc3\xa9");
}

TEST(RequestHead, ViewsPointIntoTheHead) {
  const std::string req = crlf(test::kFirefox);
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  auto inside = [&](std::string_view v) {
    return v.data() >= req.data() && v.data() + v.size() <= req.data() + req.size();
  };
  EXPECT_TRUE(inside(h.method));
  EXPECT_TRUE(inside(h.target));
  for (uint16_t i = 0; i < h.header_count; ++i) {
    EXPECT_TRUE(inside(h.headers[i].name));
    EXPECT_TRUE(inside(h.headers[i].value));
  }
}

TEST(RequestHead, ReusedHeadIsReset) {
  RequestHead h;
  ASSERT_EQ(parse(crlf(test::kChrome), h), HeadError::none);
  const std::string small = crlf("GET /x HTTP/1.0\nHost: a\n\n");
  ASSERT_EQ(parse(small, h), HeadError::none);
  EXPECT_EQ(h.header_count, 1);
  EXPECT_EQ(h.query, "");
  EXPECT_EQ(h.version_minor, 0);
  EXPECT_EQ(h.find("Sec-WebSocket-Key"), nullptr);
}

// ---- keep-alive and body ----------------------------------------------------

TEST(RequestHead, KeepAlive) {
  struct Case {
    const char* head;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\nHost: a\n\n", true},
      {"GET / HTTP/1.1\nHost: a\nConnection: close\n\n", false},
      {"GET / HTTP/1.1\nHost: a\nConnection: Upgrade, CLOSE\n\n", false},
      {"GET / HTTP/1.1\nHost: a\nConnection: keep-alive\nConnection: close\n\n", false},
      {"GET / HTTP/1.1\nHost: a\nConnection: closed\n\n", true},
      {"GET / HTTP/1.0\nHost: a\n\n", false},
      {"GET / HTTP/1.0\nHost: a\nConnection: Keep-Alive\n\n", true},
  };
  for (const Case& c : cases) {
    RequestHead h;
    ASSERT_EQ(parse(crlf(c.head), h), HeadError::none) << c.head;
    EXPECT_EQ(h.keep_alive, c.keep_alive) << c.head;
  }
}

TEST(RequestHead, HasBody) {
  struct Case {
    const char* head;
    bool has_body;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\nHost: a\n\n", false},
      {"GET / HTTP/1.1\nHost: a\nContent-Length: 0\n\n", false},
      {"GET / HTTP/1.1\nHost: a\nContent-Length: 1\n\n", true},
      {"GET / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n", true},
      {"GET / HTTP/1.1\nHost: a\nTransfer-Encoding: gzip, chunked\n\n", true},
  };
  for (const Case& c : cases) {
    RequestHead h;
    ASSERT_EQ(parse(crlf(c.head), h), HeadError::none) << c.head;
    EXPECT_EQ(h.has_body, c.has_body) << c.head;
  }
}

// ---- tokens -------------------------------------------------------------------

TEST(RequestHead, TokenListsAcrossHeaders) {
  const std::string req = crlf(
      "GET / HTTP/1.1\nHost: a\nConnection: , keep-alive ,,\tUpgrade\t\n"
      "X-Other: upgrade\nconnection: TE\n\n");
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  std::vector<std::string_view> seen;
  h.for_each_token("CONNECTION", [&](std::string_view t) { seen.push_back(t); });
  EXPECT_EQ(seen, (std::vector<std::string_view>{"keep-alive", "Upgrade", "TE"}));
  EXPECT_TRUE(h.has_token("Connection", "te"));
  EXPECT_TRUE(h.has_token("Connection", "UPGRADE"));
  EXPECT_FALSE(h.has_token("Connection", "upgrad"));
  EXPECT_FALSE(h.has_token("Connection", "keep"));
  EXPECT_FALSE(h.has_token("Upgrade", "upgrade"));
  EXPECT_EQ(h.count("connection"), 2u);
}

TEST(RequestHead, TokenWalkStopsWhenAsked) {
  const std::string req = crlf("GET / HTTP/1.1\nHost: a\nX-L: a, b, c\n\n");
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  int visited = 0;
  h.for_each_token("x-l", [&](std::string_view t) {
    ++visited;
    return t != "b";
  });
  EXPECT_EQ(visited, 2);
}

TEST(RequestHead, TokenIsNotASubstring) {
  const std::string req = crlf("GET / HTTP/1.1\nHost: a\nUpgrade: websocketx, xwebsocket, web socket\n\n");
  RequestHead h;
  ASSERT_EQ(parse(req, h), HeadError::none);
  EXPECT_FALSE(h.has_token("Upgrade", "websocket"));
}

// ---- limits -------------------------------------------------------------------

std::string with_headers(size_t n) {
  std::string req = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < n; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
  return req + "\r\n";
}

TEST(RequestHead, SixtyFourHeadersFit) {
  RequestHead h;
  EXPECT_EQ(parse(with_headers(kMaxHeaders), h), HeadError::none);
  EXPECT_EQ(h.header_count, kMaxHeaders);
}

TEST(RequestHead, SixtyFiveHeadersAre431) {
  RequestHead h;
  EXPECT_EQ(parse(with_headers(kMaxHeaders + 1), h), HeadError::too_many_headers);
  EXPECT_EQ(parse(with_headers(1000), h), HeadError::too_many_headers);
}

// ---- malformed heads ----------------------------------------------------------

TEST(RequestHead, Malformed) {
  using namespace std::string_view_literals;
  struct Case {
    const char* why;
    std::string_view head;
  };
  const Case cases[] = {
      {"empty", ""sv},
      {"only the blank line", "\r\n\r\n"sv},
      {"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"not finished", "GET / HTTP/1.1\r\nHost: a\r\n"sv},
      {"bytes after the head", "GET / HTTP/1.1\r\nHost: a\r\n\r\nX"sv},
      {"bare LF after request-line", "GET / HTTP/1.1\nHost: a\r\n\r\n"sv},
      {"bare LF after a header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"sv},
      {"bare CR", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"sv},
      {"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\nHost: a\r\n\r\n"sv},
      {"obs-fold with tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\nHost: a\r\n\r\n"sv},
      {"whitespace before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"sv},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"sv},
      {"NUL in target", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"control byte in value", "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"sv},
      {"DEL in value", "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n"sv},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"sv},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"sv},
      {"empty header name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"sv},
      {"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n"sv},
      {"separator in name", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"sv},
      {"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"sv},
      {"tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"high byte in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"HTTP/0.9", "GET /\r\n\r\n"sv},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"sv},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"sv},
      {"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"sv},
      {"RTSP", "GET / RTSP/1.0\r\nHost: a\r\n\r\n"sv},
      {"lowercase method", "get / HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"unknown method", "FETCH / HTTP/1.1\r\nHost: a\r\n\r\n"sv},
      {"a response", "HTTP/1.1 200 OK\r\nHost: a\r\n\r\n"sv},
      {"duplicate Content-Length", "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"sv},
      {"Content-Length and chunked", "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"sv},
      {"bad Content-Length", "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"sv},
      {"negative Content-Length", "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"sv},
      {"Transfer-Encoding not ending in chunked", "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"sv},
      {"chunked then more", "GET / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"sv},
  };
  for (const Case& c : cases) {
    Guarded g(c.head);
    RequestHead h;
    EXPECT_EQ(parse(g.view(), h), HeadError::malformed) << c.why;
  }
}

// ---- find_head_end --------------------------------------------------------------

std::vector<std::string> all_transcripts() {
  return {crlf(test::kChrome), crlf(test::kFirefox), crlf(test::kPythonWebsockets),
          crlf(test::kNodeWs), crlf(test::kCurlHealthz)};
}

TEST(FindHeadEnd, WholeHead) {
  for (const std::string& req : all_transcripts()) {
    EXPECT_EQ(find_head_end(req, 0), req.size());
  }
  EXPECT_EQ(find_head_end("", 0), 0u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\n\n", 0), 0u);  // bare LF never ends a head
  EXPECT_EQ(find_head_end("\r\n\r\n", 0), 4u);
}

// Two reads, split at every byte: the second search must find the end even
// when the CRLFCRLF straddles the split.
TEST(FindHeadEnd, EverySplitPoint) {
  for (const std::string& req : all_transcripts()) {
    for (size_t split = 0; split <= req.size(); ++split) {
      const size_t first = find_head_end(std::string_view(req).substr(0, split), 0);
      if (split < req.size()) {
        ASSERT_EQ(first, 0u) << split;
        ASSERT_EQ(find_head_end(req, split), req.size()) << split;
      } else {
        ASSERT_EQ(first, req.size());
      }
    }
  }
}

// One byte per read, each prefix in its own guarded buffer so a read past
// what has "arrived" faults.
TEST(FindHeadEnd, ByteAtATimeNeverReadsAhead) {
  const std::string req = crlf(test::kNodeWs);
  size_t searched = 0;
  for (size_t n = 1; n <= req.size(); ++n) {
    Guarded g(std::string_view(req).substr(0, n));
    const size_t end = find_head_end(g.view(), searched);
    searched = n;
    ASSERT_EQ(end, n == req.size() ? req.size() : 0u) << n;
  }
}

TEST(FindHeadEnd, PipelinedBytesAreNotPartOfTheHead) {
  const std::string head = crlf(test::kCurlHealthz);
  const std::string second = crlf("GET /healthz HTTP/1.1\nHost: b\n\n");
  const std::string both = head + second;
  const size_t end = find_head_end(both, 0);
  ASSERT_EQ(end, head.size());
  RequestHead h;
  ASSERT_EQ(parse(std::string_view(both).substr(0, end), h), HeadError::none);
  EXPECT_EQ(h.find("Host")->value, "localhost:8080");
  const std::string_view rest = std::string_view(both).substr(end);
  ASSERT_EQ(find_head_end(rest, 0), second.size());
  ASSERT_EQ(parse(rest.substr(0, second.size()), h), HeadError::none);
  EXPECT_EQ(h.find("Host")->value, "b");
}

// A client may send its first frame right behind the handshake.
TEST(FindHeadEnd, FrameBehindTheUpgrade) {
  const std::string head = crlf(test::kPythonWebsockets);
  const std::string wire = head + std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  EXPECT_EQ(find_head_end(wire, 0), head.size());
  EXPECT_EQ(find_head_end(wire, head.size() - 2), head.size());
}

// The caller reset its buffer but not its mark: search again from the start
// rather than trust a mark that cannot be right.
TEST(FindHeadEnd, MarkBeyondTheDataRestarts) {
  const std::string req = crlf(test::kCurlHealthz);
  EXPECT_EQ(find_head_end(req, req.size() + 100), req.size());
  EXPECT_EQ(find_head_end("GET", 100), 0u);
}

}  // namespace
}  // namespace ringcast::http

namespace ringcast::http {
namespace {

// Every prefix of a real request is plausible, checked the way the gateway
// calls it: incrementally, remembering how far it looked.
TEST(HeadPrefix, EveryPrefixOfRealRequestsIsPlausible) {
  for (std::string_view t : {test::kChrome, test::kFirefox, test::kPythonWebsockets,
                             test::kNodeWs, test::kCurlHealthz}) {
    const std::string req = test::crlf(t);
    size_t searched = 0;
    for (size_t n = 1; n <= req.size(); ++n) {
      ASSERT_TRUE(head_prefix_plausible(std::string_view(req).substr(0, n), searched)) << n << " of\n" << req;
      searched = n;
    }
  }
}

// Trips the request_head fuzz target's prefix property (corpus input
// msearch_hyphenated_method): llhttp takes M-SEARCH as a method, so the head
// parses, but the early check allowed only A-Z in a method and answered it
// 400 before its end arrived.
TEST(HeadPrefix, HyphenatedMethodIsPlausible) {
  const std::string req = crlf("M-SEARCH * HTTP/1.1\nHost: 239.255.255.250:1900\n\n");
  RequestHead h;
  ASSERT_EQ(parse_request_head(req, h), HeadError::none);
  EXPECT_EQ(h.method, "M-SEARCH");
  size_t searched = 0;
  for (size_t n = 1; n < req.size(); ++n) {
    ASSERT_TRUE(head_prefix_plausible(std::string_view(req).substr(0, n), searched)) << n;
    searched = n;
  }
}

TEST(HeadPrefix, GarbageIsRejectedBeforeTheHeadEnds) {
  const std::string tls("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  EXPECT_FALSE(head_prefix_plausible(tls, 0));
  EXPECT_FALSE(head_prefix_plausible("GET /healthz HTTP/1.1\nHost: x\n", 0));  // bare LF
  EXPECT_FALSE(head_prefix_plausible("GET /x HTTP/1.1\r\nHost: a\rb", 0));      // CR without LF
  EXPECT_FALSE(head_prefix_plausible(std::string("GET /\0x", 7), 0));
  EXPECT_FALSE(head_prefix_plausible("get / HTTP/1.1", 0));
  EXPECT_FALSE(head_prefix_plausible("GET  /", 0));
  EXPECT_FALSE(head_prefix_plausible("GET / HTTP/2", 0));
  EXPECT_FALSE(head_prefix_plausible("GET / FTP/1.1\r\n", 0));
  EXPECT_FALSE(head_prefix_plausible("AVERYVERYLONGMETHODNAMEXX /", 0));
  EXPECT_TRUE(head_prefix_plausible("GE", 0));
  EXPECT_TRUE(head_prefix_plausible("GET /chat?x=1 HTT", 0));
  EXPECT_TRUE(head_prefix_plausible("GET / HTTP/1.1\r", 0));
}

}  // namespace
}  // namespace ringcast::http
