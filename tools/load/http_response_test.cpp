// HttpResponseReader: pipelined responses, every chunk split, malformed heads.
#include "http_response.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace load {
namespace {

struct Got {
  int status;
  std::string body;
  bool close;
};

struct Sink {
  std::vector<Got> got;
  void on_response(int status, std::string_view body, bool close) { got.push_back({status, std::string(body), close}); }
};

bool feed_in_pieces(HttpResponseReader& r, const std::string& s, size_t piece, Sink& sink) {
  for (size_t i = 0; i < s.size(); i += piece) {
    const size_t n = std::min(piece, s.size() - i);
    if (!r.feed(reinterpret_cast<const uint8_t*>(s.data() + i), n, sink)) return false;
  }
  return true;
}

const std::string kTwo =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n"
    "{\"published\":true,\"channel\":\"bench-0\"}\n"
    "HTTP/1.1 400 Bad Request\r\ncontent-length:  5 \r\nConnection: close\r\n\r\n"
    "oops!";

TEST(HttpResponse, PipelinedInEverySplit) {
  for (size_t piece = 1; piece <= kTwo.size(); ++piece) {
    HttpResponseReader r;
    Sink s;
    ASSERT_TRUE(feed_in_pieces(r, kTwo, piece, s)) << piece << ": " << r.error();
    ASSERT_EQ(s.got.size(), 2u) << piece;
    EXPECT_EQ(s.got[0].status, 200);
    EXPECT_EQ(s.got[0].body, "{\"published\":true,\"channel\":\"bench-0\"}\n");
    EXPECT_FALSE(s.got[0].close);
    EXPECT_EQ(s.got[1].status, 400);
    EXPECT_EQ(s.got[1].body, "oops!");
    EXPECT_TRUE(s.got[1].close);
    EXPECT_FALSE(r.mid_response());
  }
}

TEST(HttpResponse, ManyInOneChunk) {
  std::string all;
  for (int i = 0; i < 100; ++i) all += "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  all += "HTTP/1.1 204 No Content\r\n\r\n";
  all += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  HttpResponseReader r;
  Sink s;
  ASSERT_TRUE(feed_in_pieces(r, all, all.size(), s));
  ASSERT_EQ(s.got.size(), 102u);
  EXPECT_EQ(s.got[100].status, 204);
  EXPECT_EQ(s.got[101].body, "");
}

TEST(HttpResponse, PartialIsNotAResponse) {
  HttpResponseReader r;
  Sink s;
  const std::string part = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  ASSERT_TRUE(feed_in_pieces(r, part, 7, s));
  EXPECT_TRUE(s.got.empty());
  EXPECT_TRUE(r.mid_response());
}

TEST(HttpResponse, LongBodyKeepsPrefix) {
  std::string body(5000, 'x');
  const std::string resp = "HTTP/1.1 500 Internal\r\nContent-Length: 5000\r\n\r\n" + body;
  HttpResponseReader r;
  Sink s;
  ASSERT_TRUE(feed_in_pieces(r, resp, 1000, s));
  ASSERT_EQ(s.got.size(), 1u);
  EXPECT_EQ(s.got[0].body.size(), HttpResponseReader::kKeepBody);
}

TEST(HttpResponse, Malformed) {
  const char* bad[] = {
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
  };
  for (const char* b : bad) {
    HttpResponseReader r;
    Sink s;
    EXPECT_FALSE(feed_in_pieces(r, b, 3, s)) << b;
    EXPECT_NE(r.error(), nullptr) << b;
    EXPECT_TRUE(s.got.empty()) << b;
  }
}

TEST(HttpResponse, HeadTooLarge) {
  std::string h = "HTTP/1.1 200 OK\r\nX: " + std::string(HttpResponseReader::kMaxHead, 'a') + "\r\n\r\n";
  HttpResponseReader r;
  Sink s;
  EXPECT_FALSE(feed_in_pieces(r, h, 100, s));
}

}  // namespace
}  // namespace load
