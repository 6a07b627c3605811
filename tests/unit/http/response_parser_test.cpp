#include "http/response_parser.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace ringcast::http {
namespace {

using test::crlf;
using test::Guarded;
using Result = ResponseParser::Result;
using Error = ResponseParser::Error;

// What parsing a stream of responses produced, response by response.
struct Parsed {
  Result result = Result::need_more;
  Error error = Error::none;
  int status = 0;
  bool keep_alive = false;
  std::string content_type, body;
  size_t end = 0;  // offset in the stream just past this response
};

// Feeds `wire` in pieces of `piece` bytes (0 = all at once), each piece in
// its own guarded buffer so that reading past it faults, and parses
// responses back to back until the bytes run out or one fails. eof = call
// finish() when the bytes are exhausted.
std::vector<Parsed> parse_stream(std::string_view wire, size_t piece, bool eof = false,
                                 size_t max_body = ResponseParser::kDefaultMaxBody,
                                 size_t max_head = ResponseParser::kDefaultMaxHead) {
  ResponseParser p(max_body, max_head);
  std::vector<Parsed> out;
  size_t pos = 0;
  auto record = [&](Result r) {
    Parsed x;
    x.result = r;
    x.error = p.error();
    x.status = p.status();
    x.keep_alive = p.keep_alive();
    x.content_type = std::string(p.content_type());
    x.body = std::string(p.body());
    x.end = pos;
    out.push_back(std::move(x));
    p.reset();
  };
  while (pos < wire.size()) {
    const size_t n = piece == 0 ? wire.size() - pos : std::min(piece, wire.size() - pos);
    Guarded g(wire.substr(pos, n));
    size_t used = 0;
    const Result r = p.feed(g.view(), &used);
    if (r == Result::error) {
      record(r);
      return out;
    }
    EXPECT_LE(used, n);
    pos += used;
    if (r == Result::complete) record(r);
  }
  if (eof) {
    const Result r = p.finish();
    if (r != Result::need_more) record(r);
  } else if (p.started()) {
    out.push_back(Parsed{});  // an unfinished response
    out.back().end = pos;
  }
  return out;
}

// Every split of the stream gives the same answers as feeding it whole.
void expect_split_invariant(std::string_view wire, bool eof = false, size_t max_body = ResponseParser::kDefaultMaxBody) {
  const std::vector<Parsed> whole = parse_stream(wire, 0, eof, max_body);
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    const std::vector<Parsed> split = parse_stream(wire, piece, eof, max_body);
    ASSERT_EQ(split.size(), whole.size()) << "piece " << piece;
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(split[i].result, whole[i].result) << "piece " << piece << " response " << i;
      EXPECT_EQ(split[i].error, whole[i].error) << "piece " << piece << " response " << i;
      if (whole[i].result != Result::complete) continue;  // how far a failed one got may differ
      EXPECT_EQ(split[i].status, whole[i].status) << "piece " << piece << " response " << i;
      EXPECT_EQ(split[i].keep_alive, whole[i].keep_alive) << "piece " << piece << " response " << i;
      EXPECT_EQ(split[i].content_type, whole[i].content_type) << "piece " << piece << " response " << i;
      EXPECT_EQ(split[i].body, whole[i].body) << "piece " << piece << " response " << i;
      EXPECT_EQ(split[i].end, whole[i].end) << "piece " << piece << " response " << i;
    }
  }
}

TEST(ResponseParser, ContentLength) {
  const std::string wire = crlf(
      "HTTP/1.1 200 OK\n"
      "Content-Type: application/json\n"
      "Content-Length: 11\n"
      "\n") + "{\"ok\":true}";
  auto r = parse_stream(wire, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::complete);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_TRUE(r[0].keep_alive);
  EXPECT_EQ(r[0].content_type, "application/json");
  EXPECT_EQ(r[0].body, "{\"ok\":true}");
  EXPECT_EQ(r[0].end, wire.size());
  expect_split_invariant(wire);
}

TEST(ResponseParser, NoReasonPhraseAndEmptyBody) {
  const std::string wire = crlf("HTTP/1.1 204\n\n");
  auto r = parse_stream(wire, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::complete);
  EXPECT_EQ(r[0].status, 204);
  EXPECT_EQ(r[0].body, "");
  EXPECT_EQ(r[0].content_type, "");
  EXPECT_TRUE(r[0].keep_alive);
}

TEST(ResponseParser, Chunked) {
  const std::string wire = crlf(
      "HTTP/1.1 502 Bad Gateway\n"
      "transfer-encoding: chunked\n"
      "CONTENT-TYPE:  text/plain; charset=utf-8  \n"
      "\n"
      "5\n"
      "hello\n"
      "1;ext=1\n"
      " \n"
      "A\n"
      "0123456789\n"
      "0\n"
      "Content-Type: trailer/ignored\n"
      "\n");
  auto r = parse_stream(wire, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::complete);
  EXPECT_EQ(r[0].status, 502);
  EXPECT_EQ(r[0].content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(r[0].body, "hello 0123456789");
  EXPECT_TRUE(r[0].keep_alive);
  EXPECT_EQ(r[0].end, wire.size());
  expect_split_invariant(wire);
}

TEST(ResponseParser, BytesAfterTheResponseAreTheNext) {
  const std::string wire = crlf(
      "HTTP/1.1 200 OK\nContent-Length: 2\n\nabHTTP/1.1 201 Created\nContent-Length: 0\n\n"
      "HTTP/1.1 404 Not Found\nTransfer-Encoding: chunked\n\n3\nxyz\n0\n\n");
  auto r = parse_stream(wire, 0);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].body, "ab");
  EXPECT_EQ(r[0].end, wire.find("HTTP/1.1 201"));
  EXPECT_EQ(r[1].status, 201);
  EXPECT_EQ(r[1].body, "");
  EXPECT_EQ(r[1].end, wire.find("HTTP/1.1 404"));
  EXPECT_EQ(r[2].status, 404);
  EXPECT_EQ(r[2].body, "xyz");
  EXPECT_EQ(r[2].end, wire.size());
  expect_split_invariant(wire);
}

TEST(ResponseParser, ConnectionClose) {
  const std::string wire = crlf("HTTP/1.1 200 OK\nConnection: close\nContent-Length: 1\n\n") + "x";
  auto r = parse_stream(wire, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::complete);
  EXPECT_FALSE(r[0].keep_alive);
  EXPECT_EQ(r[0].body, "x");
}

TEST(ResponseParser, Http10) {
  // 1.0 closes unless it says keep-alive.
  auto a = parse_stream(crlf("HTTP/1.0 200 OK\nContent-Length: 1\n\nx"), 0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].result, Result::complete);
  EXPECT_FALSE(a[0].keep_alive);
  auto b = parse_stream(crlf("HTTP/1.0 200 OK\nConnection: keep-alive\nContent-Length: 1\n\nx"), 0);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].keep_alive);
}

TEST(ResponseParser, BodyUntilEof) {
  const std::string wire = crlf("HTTP/1.1 200 OK\nContent-Type: application/json\n\n") + "[1,2,3]";
  // Without EOF it is not finished...
  auto open = parse_stream(wire, 0);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].result, Result::need_more);
  // ...the close ends it.
  auto r = parse_stream(wire, 0, /*eof=*/true);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::complete);
  EXPECT_EQ(r[0].body, "[1,2,3]");
  EXPECT_FALSE(r[0].keep_alive);
  expect_split_invariant(wire, true);
}

TEST(ResponseParser, EofInsideTheResponseIsTruncated) {
  for (std::string wire : {crlf("HTTP/1.1 200 OK\nContent-Length: 10\n\nabc"), crlf("HTTP/1.1 200 OK\nContent-Le"),
                           crlf("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nab"), std::string("H")}) {
    auto r = parse_stream(wire, 0, true);
    ASSERT_EQ(r.size(), 1u) << wire;
    EXPECT_EQ(r[0].result, Result::error) << wire;
    EXPECT_EQ(r[0].error, Error::truncated) << wire;
  }
}

TEST(ResponseParser, FinishBeforeAnyByteIsNothing) {
  ResponseParser p;
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.finish(), Result::need_more);
  EXPECT_EQ(p.error(), Error::none);
}

TEST(ResponseParser, InterimResponsesAreSkipped) {
  const std::string wire = crlf(
      "HTTP/1.1 100 Continue\n\n"
      "HTTP/1.1 103 Early Hints\nLink: </a.css>; rel=preload\nContent-Type: x/early\n\n"
      "HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
  auto r = parse_stream(wire, 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::complete);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].content_type, "");
  EXPECT_EQ(r[0].body, "ok");
  expect_split_invariant(wire);
}

TEST(ResponseParser, SwitchingProtocolsIsAnError) {
  auto r = parse_stream(crlf("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n"), 0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, Result::error);
  EXPECT_EQ(r[0].error, Error::malformed);
}

TEST(ResponseParser, Garbage) {
  for (std::string wire : {std::string("garbage\r\n\r\n"), std::string("HTTP/2 200\r\n\r\n"),
                           std::string("HTTP/1.1 2000 OK\r\n\r\n"), std::string("\x16\x03\x01\x02\x00", 5),
                           crlf("HTTP/1.1 200 OK\nContent-Length: 1\nContent-Length: 2\n\nab"),
                           crlf("HTTP/1.1 200 OK\nContent-Length: -1\n\n"),
                           crlf("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nzz\n"),
                           crlf("HTTP/1.1 200 OK\nBad Header: x\n\n"), crlf("HTTP/1.1 200 OK\n: x\n\n"),
                           crlf("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n0\nBad Trailer: x\n\n"),
                           crlf("HTTP/1.1 200 OK\n Folded: x\n\n"),
                           std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\nX\r\n\r\nx")}) {
    auto r = parse_stream(wire, 0);
    ASSERT_EQ(r.size(), 1u) << wire;
    EXPECT_EQ(r[0].result, Result::error) << wire;
    EXPECT_EQ(r[0].error, Error::malformed) << wire;
    expect_split_invariant(wire);
  }
}

TEST(ResponseParser, BodyLimitAnnounced) {
  const std::string wire = crlf("HTTP/1.1 200 OK\nContent-Length: 11\n\n");
  auto r = parse_stream(wire, 0, false, /*max_body=*/10);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].error, Error::body_too_large);
  // Exactly the limit is fine.
  auto ok = parse_stream(crlf("HTTP/1.1 200 OK\nContent-Length: 10\n\n") + "0123456789", 0, false, 10);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].result, Result::complete);
  EXPECT_EQ(ok[0].body, "0123456789");
}

TEST(ResponseParser, BodyLimitChunkedAndEof) {
  const std::string chunked = crlf("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n6\n012345\n6\n6789ab\n0\n\n");
  auto r = parse_stream(chunked, 0, false, 10);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].error, Error::body_too_large);
  expect_split_invariant(chunked, false, 10);
  const std::string eof = crlf("HTTP/1.1 200 OK\n\n") + "0123456789a";
  auto e = parse_stream(eof, 0, true, 10);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].error, Error::body_too_large);
}

TEST(ResponseParser, DefaultBodyLimitIsOneMebibyte) {
  ResponseParser p;
  EXPECT_EQ(p.max_body(), size_t(1) << 20);
  const std::string head = crlf("HTTP/1.1 200 OK\nContent-Length: 1048577\n\n");
  size_t used = 0;
  EXPECT_EQ(p.feed(head, &used), Result::error);
  EXPECT_EQ(p.error(), Error::body_too_large);
  // Exactly 1 MiB, fed in 64 KiB pieces.
  p.reset();
  std::string whole = crlf("HTTP/1.1 200 OK\nContent-Length: 1048576\n\n");
  whole.append(size_t(1) << 20, 'x');
  size_t pos = 0;
  Result res = Result::need_more;
  while (pos < whole.size() && res == Result::need_more) {
    res = p.feed(std::string_view(whole).substr(pos, 65536), &used);
    pos += used;
  }
  EXPECT_EQ(res, Result::complete);
  EXPECT_EQ(p.body().size(), size_t(1) << 20);
  // The big buffer is not kept past reset().
  p.reset();
  std::string b;
  p.swap_body(b);
  EXPECT_LE(b.capacity(), ResponseParser::kKeepBodyCapacity);
}

TEST(ResponseParser, HeadLimit) {
  std::string wire = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 100; ++i) wire += "X-Filler-" + std::to_string(i) + ": " + std::string(50, 'v') + "\r\n";
  wire += "Content-Length: 0\r\n\r\n";
  auto big = parse_stream(wire, 0, false, ResponseParser::kDefaultMaxBody, /*max_head=*/4096);
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].error, Error::head_too_large);
  auto fine = parse_stream(wire, 0);
  ASSERT_EQ(fine.size(), 1u);
  EXPECT_EQ(fine[0].result, Result::complete);
  // Many empty header lines count too.
  std::string empties = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 2000; ++i) empties += "A:\r\n";
  empties += "\r\n";
  auto e = parse_stream(empties, 0, false, ResponseParser::kDefaultMaxBody, 4096);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].error, Error::head_too_large);
}

TEST(ResponseParser, ContentTypeNameMatchIsExact) {
  auto r = parse_stream(crlf("HTTP/1.1 200 OK\nContent-Types: no\nX-Content-Type: no\nContent-Typ: no\n"
                             "content-type: yes\nContent-Type: second\nContent-Length: 0\n\n"),
                        0);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].content_type, "yes");
}

TEST(ResponseParser, CompleteIsSticky) {
  ResponseParser p;
  size_t used = 0;
  const std::string wire = crlf("HTTP/1.1 200 OK\nContent-Length: 0\n\nextra");
  EXPECT_EQ(p.feed(wire, &used), Result::complete);
  EXPECT_EQ(used, wire.size() - 5);
  EXPECT_EQ(p.feed(std::string_view("more"), &used), Result::complete);
  EXPECT_EQ(used, 0u);
  p.reset();
  EXPECT_FALSE(p.started());
  EXPECT_EQ(p.status(), 0);
  EXPECT_EQ(p.feed(std::string_view("HTTP/1.1 500 x\r\nContent-Length: 0\r\n\r\n"), &used), Result::complete);
  EXPECT_EQ(p.status(), 500);
}

TEST(ResponseParser, SwapBodyKeepsTheAnswer) {
  ResponseParser p;
  size_t used = 0;
  ASSERT_EQ(p.feed(crlf("HTTP/1.1 200 OK\nContent-Length: 3\n\nabc"), &used), Result::complete);
  std::string kept;
  p.swap_body(kept);
  p.reset();
  ASSERT_EQ(p.feed(crlf("HTTP/1.1 200 OK\nContent-Length: 3\n\nxyz"), &used), Result::complete);
  EXPECT_EQ(kept, "abc");
  EXPECT_EQ(p.body(), "xyz");
}

TEST(ResponseParser, ErrorReasons) {
  ResponseParser p;
  EXPECT_STREQ(p.error_reason(), "no error");
  size_t used = 0;
  EXPECT_EQ(p.feed(std::string_view("nonsense\r\n"), &used), Result::error);
  EXPECT_NE(std::string(p.error_reason()), "");
}

}  // namespace
}  // namespace ringcast::http
