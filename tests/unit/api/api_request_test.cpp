// RequestReader: framing requests off a keep-alive connection. Transcripts
// are written with "\n" and sent with CRLF; every transcript is also fed
// split at every byte to show the result does not depend on how TCP cut it.
#include "api/api_request.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::api {
namespace {

using Step = RequestReader::Step;

std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

void feed(RequestReader& r, std::string_view s) { r.append(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

struct Got {
  std::string method, target, body;
  bool keep_alive;
  bool operator==(const Got&) const = default;
};

void PrintTo(const Got& g, std::ostream* os) {
  *os << g.method << " " << g.target << " [" << g.body << "] ka=" << g.keep_alive;
}

// Feeds `wire` in pieces of at most `chunk` bytes; collects the requests and
// the error status (0 = none) it ends with.
std::vector<Got> read_all(std::string_view wire, size_t chunk, int* error, ReaderLimits limits = {}) {
  RequestReader r(limits);
  std::vector<Got> got;
  *error = 0;
  for (size_t at = 0; at < wire.size(); at += chunk) {
    feed(r, wire.substr(at, chunk));
    for (;;) {
      const Step s = r.next();
      if (s == Step::need_more) break;
      if (s == Step::send_continue) continue;
      if (s == Step::error) {
        *error = r.error_status();
        return got;
      }
      got.push_back({std::string(r.head().method), std::string(r.head().target), std::string(r.body()),
                     r.head().keep_alive});
      r.consume();
    }
  }
  return got;
}

TEST(RequestReader, OneGet) {
  RequestReader r({});
  feed(r, crlf("GET /healthz HTTP/1.1\nHost: x\n\n"));
  ASSERT_EQ(r.next(), Step::ready);
  EXPECT_EQ(r.head().method, "GET");
  EXPECT_EQ(r.head().path, "/healthz");
  EXPECT_TRUE(r.head().keep_alive);
  EXPECT_EQ(r.body(), "");
  r.consume();
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_FALSE(r.partial());
  EXPECT_EQ(r.next(), Step::need_more);
}

TEST(RequestReader, BodyByContentLength) {
  const std::string wire = crlf("POST /api/v1/publish HTTP/1.1\nContent-Length: 17\n\n") + R"({"channel":"abc"})";
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    int error = 0;
    const auto got = read_all(wire, chunk, &error);
    ASSERT_EQ(error, 0) << "chunk " << chunk;
    ASSERT_EQ(got.size(), 1u) << "chunk " << chunk;
    EXPECT_EQ(got[0].body, R"({"channel":"abc"})");
  }
}

TEST(RequestReader, PipelinedKeepAlive) {
  const std::string wire = crlf(
      "POST /a HTTP/1.1\nContent-Length: 3\n\nabc"
      "GET /b?x=1 HTTP/1.1\n\n"
      "POST /c HTTP/1.1\nContent-Length: 0\n\n"
      "DELETE /d HTTP/1.1\nConnection: close\nContent-Length: 2\n\nzz"
      "GET /e HTTP/1.0\n\n");
  const std::vector<Got> want = {
      {"POST", "/a", "abc", true},
      {"GET", "/b?x=1", "", true},
      {"POST", "/c", "", true},
      {"DELETE", "/d", "zz", false},
      {"GET", "/e", "", false},
  };
  for (size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    int error = 0;
    EXPECT_EQ(read_all(wire, chunk, &error), want) << "chunk " << chunk;
    EXPECT_EQ(error, 0);
  }
}

TEST(RequestReader, ViewsSurviveAppendsWhileBodyArrives) {
  // The head is parsed before the body arrives; appends then grow (and move)
  // the buffer: the views handed out at `ready` must point at the new bytes.
  RequestReader r({});
  feed(r, crlf("POST /x HTTP/1.1\nX-Pad: ") + std::string(200, 'p') + crlf("\nContent-Length: 5000\n\n"));
  EXPECT_EQ(r.next(), Step::need_more);
  for (int i = 0; i < 50; ++i) feed(r, std::string(100, char('a' + i % 26)));
  ASSERT_EQ(r.next(), Step::ready);
  EXPECT_EQ(r.head().path, "/x");
  EXPECT_EQ(r.head().find("X-Pad")->value, std::string(200, 'p'));
  EXPECT_EQ(r.body().size(), 5000u);
  EXPECT_EQ(r.body().substr(0, 3), "aaa");
  EXPECT_EQ(r.body().substr(4900), std::string(100, 'x'));
}

TEST(RequestReader, ManyPipelinedRequestsCompactTheBuffer) {
  std::string wire;
  for (int i = 0; i < 2000; ++i) wire += crlf("POST /p HTTP/1.1\nContent-Length: 4\n\n") + std::to_string(1000 + i);
  int error = 0;
  const auto got = read_all(wire, 4096, &error);
  ASSERT_EQ(got.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(got[size_t(i)].body, std::to_string(1000 + i));
}

TEST(RequestReader, TooLargeBodyIs413AtOnce) {
  ReaderLimits limits;
  limits.max_body_bytes = 100;
  RequestReader r(limits);
  // Only the head: the body is never waited for.
  feed(r, crlf("POST /api/v1/publish HTTP/1.1\nContent-Length: 101\n\n"));
  ASSERT_EQ(r.next(), Step::error);
  EXPECT_EQ(r.error_status(), 413);
  // Final.
  feed(r, "more");
  EXPECT_EQ(r.next(), Step::error);

  RequestReader ok(limits);
  feed(ok, crlf("POST / HTTP/1.1\nContent-Length: 100\n\n") + std::string(100, 'x'));
  EXPECT_EQ(ok.next(), Step::ready);
}

TEST(RequestReader, ChunkedIsRefused) {
  int error = 0;
  read_all(crlf("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n5\nhello\n0\n\n"), 1000, &error);
  EXPECT_EQ(error, 411);
  read_all(crlf("POST / HTTP/1.1\nTransfer-Encoding: chunked\nContent-Length: 5\n\nhello"), 1000, &error);
  EXPECT_EQ(error, 400);
  read_all(crlf("POST / HTTP/1.1\nTransfer-Encoding: gzip\n\n"), 1000, &error);
  EXPECT_EQ(error, 400);  // not ending in chunked: unframeable (parse_request_head)
}

TEST(RequestReader, BadContentLength) {
  for (const char* cl : {"abc", "-1", "1 2", "", "0x10", "99999999999999999999", "5, 6"}) {
    int error = 0;
    read_all(crlf("POST / HTTP/1.1\nContent-Length: " + std::string(cl) + "\n\nhello"), 1000, &error);
    EXPECT_EQ(error, 400) << cl;
  }
  // llhttp itself refuses a list, even of equal values.
  int error = 0;
  read_all(crlf("POST / HTTP/1.1\nContent-Length: 5, 5\n\nhello"), 1000, &error);
  EXPECT_EQ(error, 400);
}

TEST(RequestReader, ContentLengthHelper) {
  std::string raw = crlf("POST / HTTP/1.1\nContent-length: 12\n\n");
  http::RequestHead h;
  ASSERT_EQ(http::parse_request_head(raw, h), http::HeadError::none);
  uint64_t len = 0;
  bool present = false;
  EXPECT_TRUE(content_length(h, &len, &present));
  EXPECT_TRUE(present);
  EXPECT_EQ(len, 12u);
  raw = crlf("GET / HTTP/1.1\n\n");
  ASSERT_EQ(http::parse_request_head(raw, h), http::HeadError::none);
  EXPECT_TRUE(content_length(h, &len, &present));
  EXPECT_FALSE(present);
  EXPECT_EQ(len, 0u);
  // Heads llhttp would refuse already, built by hand: equal values agree,
  // different ones do not.
  h.header_count = 2;
  h.headers[0] = {"Content-Length", "7, 7"};
  h.headers[1] = {"content-length", "7"};
  EXPECT_TRUE(content_length(h, &len, &present));
  EXPECT_EQ(len, 7u);
  h.headers[1] = {"content-length", "8"};
  EXPECT_FALSE(content_length(h, &len, &present));
  h.header_count = 1;
  h.headers[0] = {"Content-Length", "7,"};
  EXPECT_TRUE(content_length(h, &len, &present));
  h.headers[0] = {"Content-Length", ",7"};
  EXPECT_FALSE(content_length(h, &len, &present));
}

TEST(RequestReader, Malformed) {
  for (std::string_view bad : {
           std::string_view("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a TLS ClientHello
           std::string_view("GET / HTTP/1.1\nHost: x\n\n"),                       // bare LF
           std::string_view("GET / HTTP/2.0\r\n\r\n"),
           std::string_view("GET  / HTTP/1.1\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\n bad: fold\r\n\r\n"),
       }) {
    for (size_t chunk : {size_t(1), size_t(3), bad.size()}) {
      int error = 0;
      EXPECT_TRUE(read_all(bad, chunk, &error).empty());
      EXPECT_EQ(error, 400) << testing::PrintToString(std::string(bad)) << " chunk " << chunk;
    }
  }
}

TEST(RequestReader, HeadTooLarge) {
  ReaderLimits limits;
  limits.max_head_bytes = 256;
  int error = 0;
  // Never ending: refused once past the limit, without waiting for the end.
  RequestReader r(limits);
  feed(r, crlf("GET / HTTP/1.1\nX-A: ") + std::string(300, 'a'));
  ASSERT_EQ(r.next(), Step::error);
  EXPECT_EQ(r.error_status(), 431);
  // Complete but too long.
  read_all(crlf("GET / HTTP/1.1\nX-A: " + std::string(300, 'a') + "\n\n"), 1000, &error, limits);
  EXPECT_EQ(error, 431);
  // Too many header lines.
  std::string many = "GET / HTTP/1.1\n";
  for (int i = 0; i < 70; ++i) many += "X-" + std::to_string(i) + ": v\n";
  read_all(crlf(many + "\n"), 100000, &error);
  EXPECT_EQ(error, 431);
}

TEST(RequestReader, ExpectContinueOnce) {
  RequestReader r({});
  feed(r, crlf("POST /x HTTP/1.1\nExpect: 100-continue\nContent-Length: 4\n\n"));
  EXPECT_EQ(r.next(), Step::send_continue);
  EXPECT_EQ(r.next(), Step::need_more);
  feed(r, "ab");
  EXPECT_EQ(r.next(), Step::need_more);
  feed(r, "cd");
  ASSERT_EQ(r.next(), Step::ready);
  EXPECT_EQ(r.body(), "abcd");
  r.consume();
  // The body came with the head: no interim answer.
  feed(r, crlf("POST /x HTTP/1.1\nExpect: 100-continue\nContent-Length: 1\n\nz"));
  EXPECT_EQ(r.next(), Step::ready);
}

TEST(RequestReader, PartialTracksIncompleteRequests) {
  RequestReader r({});
  EXPECT_FALSE(r.partial());
  feed(r, "GET / HT");
  EXPECT_EQ(r.next(), Step::need_more);
  EXPECT_TRUE(r.partial());
  feed(r, crlf("TP/1.1\n\nGET /2 HTTP/1.1\n"));
  ASSERT_EQ(r.next(), Step::ready);
  r.consume();
  EXPECT_EQ(r.next(), Step::need_more);
  EXPECT_TRUE(r.partial());
}

}  // namespace
}  // namespace ringcast::api
