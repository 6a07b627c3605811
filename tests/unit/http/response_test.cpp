#include "http/response.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringcast::http {
namespace {

// A response taken apart by hand (not with our own parser, which only knows
// requests): status line, header lines, body.
struct Parsed {
  bool ok = false;
  std::string error;
  int status = 0;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;

  std::string_view get(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
  size_t count(std::string_view name) const {
    size_t c = 0;
    for (const auto& h : headers) c += h.first == name;
    return c;
  }
};

Parsed take_apart(std::string_view r) {
  Parsed p;
  const size_t end = r.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    p.error = "no blank line";
    return p;
  }
  p.body = r.substr(end + 4);
  std::string_view head = r.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  if (status_line.size() < 13 || !status_line.starts_with("HTTP/1.1 ") || status_line[12] != ' ') {
    p.error = "bad status line";
    return p;
  }
  for (size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') {
      p.error = "bad status code";
      return p;
    }
    p.status = p.status * 10 + (status_line[i] - '0');
  }
  while (!head.empty()) {
    eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0 || line.find_first_of(" \t") < colon ||
        line.find_first_of("\r\n") != std::string_view::npos) {
      p.error = "bad header line: " + std::string(line);
      return p;
    }
    p.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  p.ok = true;
  return p;
}

size_t to_size(std::string_view digits) {
  size_t n = 0;
  for (char c : digits) n = n * 10 + static_cast<size_t>(c - '0');
  return n;
}

void expect_error_response(std::string_view r, int status) {
  SCOPED_TRACE(std::string(r));
  const Parsed p = take_apart(r);
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.status, status);
  EXPECT_NE(p.get("Connection").find("close"), std::string_view::npos);
  EXPECT_EQ(p.get("Content-Type"), "text/plain");
  EXPECT_EQ(p.count("Content-Length"), 1u);
  EXPECT_EQ(to_size(p.get("Content-Length")), p.body.size());
  // One line of text.
  ASSERT_FALSE(p.body.empty());
  EXPECT_EQ(p.body.back(), '\n');
  EXPECT_EQ(p.body.find('\n'), p.body.size() - 1);
  EXPECT_EQ(p.body.find('\r'), std::string_view::npos);
}

TEST(Response, EveryErrorIsWellFormed) {
  for (int status : {400, 404, 405, 408, 426, 431, 503}) {
    SCOPED_TRACE(status);
    expect_error_response(error_response(status), status);
  }
  expect_error_response(upgrade_required_response(), 426);
}

TEST(Response, ReasonPhrases) {
  EXPECT_TRUE(error_response(400).starts_with("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(error_response(404).starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(error_response(405).starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_TRUE(error_response(408).starts_with("HTTP/1.1 408 Request Timeout\r\n"));
  EXPECT_TRUE(error_response(426).starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
  EXPECT_TRUE(error_response(431).starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_TRUE(error_response(503).starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
}

TEST(Response, ExactBadRequest) {
  EXPECT_EQ(error_response(400),
            "HTTP/1.1 400 Bad Request\r\n"
            "Connection: close\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 12\r\n"
            "\r\n"
            "Bad Request\n");
}

TEST(Response, MethodNotAllowedNamesGet) {
  EXPECT_EQ(take_apart(error_response(405)).get("Allow"), "GET");
}

TEST(Response, TheTwo426Variants) {
  const Parsed version = take_apart(error_response(426));
  const Parsed upgrade = take_apart(upgrade_required_response());
  EXPECT_EQ(version.get("Sec-WebSocket-Version"), "13");
  EXPECT_EQ(version.get("Upgrade"), "websocket");
  EXPECT_EQ(upgrade.get("Upgrade"), "websocket");
  EXPECT_EQ(upgrade.count("Sec-WebSocket-Version"), 0u);
  EXPECT_NE(version.body, upgrade.body);
  // RFC 9110 7.8: Upgrade is listed as a connection option.
  EXPECT_EQ(version.get("Connection"), "Upgrade, close");
  EXPECT_EQ(upgrade.get("Connection"), "Upgrade, close");
}

TEST(Response, UnknownStatusIsEmpty) {
  EXPECT_TRUE(error_response(200).empty());
  EXPECT_TRUE(error_response(500).empty());
  EXPECT_TRUE(error_response(0).empty());
  EXPECT_TRUE(error_response(-1).empty());
}

TEST(Response, Health) {
  for (bool keep_alive : {true, false}) {
    SCOPED_TRACE(keep_alive);
    const Parsed get = take_apart(health_response(keep_alive, false));
    ASSERT_TRUE(get.ok) << get.error;
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "{\"status\":\"ok\"}\n");
    EXPECT_EQ(to_size(get.get("Content-Length")), get.body.size());
    EXPECT_EQ(get.get("Content-Type"), "application/json");
    EXPECT_EQ(get.get("Connection"), keep_alive ? "keep-alive" : "close");

    // HEAD: same header fields, no body (RFC 9110 9.3.2).
    const Parsed head = take_apart(health_response(keep_alive, true));
    ASSERT_TRUE(head.ok) << head.error;
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.headers, get.headers);
  }
}

}  // namespace
}  // namespace ringcast::http
