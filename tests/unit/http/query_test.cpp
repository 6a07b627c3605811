// http::query_param: one parameter of an application/x-www-form-urlencoded
// query, percent-decoded ('+' is a space), the first occurrence, at most cap
// bytes. And http::denied_response: the 401/403 that refuses an upgrade.
#include "http/query.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/response.hpp"

namespace ringcast::http {
namespace {

constexpr size_t kCap = 1024;

struct Got {
  QueryValue kind;
  std::string value;
};

Got get(std::string_view query, std::string_view name, size_t cap = kCap) {
  Got g{QueryValue::absent, "untouched"};
  g.kind = query_param(query, name, &g.value, cap);
  return g;
}

// The decoded value, which must be there.
std::string ok(std::string_view query, std::string_view name, size_t cap = kCap) {
  const Got g = get(query, name, cap);
  EXPECT_EQ(g.kind, QueryValue::ok) << query << " [" << name << "]";
  return g.value;
}

TEST(QueryParam, PlainValues) {
  EXPECT_EQ(ok("token=abc", "token"), "abc");
  EXPECT_EQ(ok("a=1&token=abc&b=2", "token"), "abc");
  EXPECT_EQ(ok("a=1&b=2&token=abc", "token"), "abc");
  EXPECT_EQ(ok("channel_id=room.1&presence=true", "presence"), "true");
  // A JWT's own characters pass as they are.
  EXPECT_EQ(ok("token=eyJhbGciOi.eyJzdWIiOiJ1MSJ9.sig-_x", "token"), "eyJhbGciOi.eyJzdWIiOiJ1MSJ9.sig-_x");
  // Only the first '=' splits.
  EXPECT_EQ(ok("token=a=b==", "token"), "a=b==");
}

TEST(QueryParam, EmptyValues) {
  EXPECT_EQ(ok("token=", "token"), "");
  EXPECT_EQ(ok("token", "token"), "") << "a name without '=' is present and empty";
  EXPECT_EQ(ok("a=1&token&b=2", "token"), "");
  EXPECT_EQ(ok("token=&b=2", "token"), "");
}

TEST(QueryParam, Absent) {
  for (std::string_view q : {"", "a=1", "tokens=abc", "tok=abc", "xtoken=abc", "Token=abc", "TOKEN=abc", "&&&",
                             "a=token", "a=1&b=token=x", "%74oken=abc", "token%3Dabc"}) {
    const Got g = get(q, "token");
    EXPECT_EQ(g.kind, QueryValue::absent) << q;
    EXPECT_EQ(g.value, "untouched") << q << ": *out is left alone when absent";
  }
}

TEST(QueryParam, PercentDecoding) {
  EXPECT_EQ(ok("c=a%20b", "c"), "a b");
  EXPECT_EQ(ok("c=%41%42%43", "c"), "ABC");
  EXPECT_EQ(ok("c=%2f%2F", "c"), "//") << "either case of hex digit";
  EXPECT_EQ(ok("c=%ff%Fe", "c"), "\xff\xfe");
  EXPECT_EQ(ok("c=%25", "c"), "%");
  EXPECT_EQ(ok("c=%2525", "c"), "%25") << "decoded once, not twice";
  EXPECT_EQ(ok("c=%26x%3Dy", "c"), "&x=y") << "an escaped '&' or '=' does not split";
  EXPECT_EQ(ok("c=%2B", "c"), "+") << "an escaped '+' stays a plus";
  EXPECT_EQ(ok("c=%00", "c"), std::string(1, '\0'));
  EXPECT_EQ(ok("c=%e2%82%ac", "c"), "\xe2\x82\xac");
  EXPECT_EQ(ok("c=x%41", "c"), "xA") << "an escape at the very end";
}

TEST(QueryParam, PlusIsASpace) {
  EXPECT_EQ(ok("q=a+b", "q"), "a b");
  EXPECT_EQ(ok("q=+", "q"), " ");
  EXPECT_EQ(ok("q=++a++", "q"), "  a  ");
  EXPECT_EQ(ok("q=a+%2B+b", "q"), "a + b");
}

TEST(QueryParam, FirstOccurrenceWins) {
  EXPECT_EQ(ok("token=first&token=second", "token"), "first");
  EXPECT_EQ(ok("token=&token=second", "token"), "") << "an empty first one still wins";
  EXPECT_EQ(ok("token&token=second", "token"), "");
  EXPECT_EQ(ok("a=1&token=first&a=2&token=second", "token"), "first");
  EXPECT_EQ(ok("a=1&token=first&a=2&token=second", "a"), "1");
  // A broken first one is not skipped in favour of a later one.
  EXPECT_EQ(get("token=%zz&token=good", "token").kind, QueryValue::bad);
}

TEST(QueryParam, BadEscapes) {
  for (std::string_view q : {"c=%", "c=%4", "c=a%", "c=a%4", "c=%zz", "c=%4g", "c=%g4", "c=%%41", "c=% 41",
                             "c=%-1", "c=%+1", "c=ok%2", "c=%x", "c=%4&d=1", "c=%&d=1"}) {
    EXPECT_EQ(get(q, "c").kind, QueryValue::bad) << q;
  }
  // The escape is judged within the value: "%4" then "&" is broken, though
  // more of the query follows.
  EXPECT_EQ(get("c=%4&41", "c").kind, QueryValue::bad);
  // A bad escape in another parameter does not matter.
  EXPECT_EQ(ok("x=%zz&c=fine", "c"), "fine");
  EXPECT_EQ(ok("c=fine&x=%", "c"), "fine");
}

TEST(QueryParam, Cap) {
  EXPECT_EQ(ok("t=abcd", "t", 4), "abcd") << "exactly cap bytes is fine";
  EXPECT_EQ(get("t=abcde", "t", 4).kind, QueryValue::bad);
  // The cap counts decoded bytes, not escaped ones.
  EXPECT_EQ(ok("t=%41%42%43%44", "t", 4), "ABCD");
  EXPECT_EQ(get("t=%41%42%43%44%45", "t", 4).kind, QueryValue::bad);
  EXPECT_EQ(ok("t=++++", "t", 4), "    ");
  EXPECT_EQ(get("t=+++++", "t", 4).kind, QueryValue::bad);
  // Cap 0: only an empty value.
  EXPECT_EQ(ok("t=", "t", 0), "");
  EXPECT_EQ(get("t=a", "t", 0).kind, QueryValue::bad);
  // A token as long as the default max_token_bytes, and one byte more.
  const std::string big(8192, 'x');
  EXPECT_EQ(ok("token=" + big, "token", 8192), big);
  const Got over = get("token=" + big + "y", "token", 8192);
  EXPECT_EQ(over.kind, QueryValue::bad);
  EXPECT_LE(over.value.size(), 8192u) << "never more than cap bytes written";
}

TEST(QueryParam, OutputIsReplaced) {
  std::string out = "previous contents";
  EXPECT_EQ(query_param("t=new", "t", &out, kCap), QueryValue::ok);
  EXPECT_EQ(out, "new");
  EXPECT_EQ(query_param("t=", "t", &out, kCap), QueryValue::ok);
  EXPECT_EQ(out, "");
}

TEST(QueryParam, SeparatorsAndOddShapes) {
  EXPECT_EQ(ok("&&token=x&&", "token"), "x");
  EXPECT_EQ(ok("=v&token=x", "token"), "x");
  EXPECT_EQ(ok("a=1;token=x&token=y", "token"), "y") << "';' is not a separator";
  EXPECT_EQ(ok("token=a b", "token"), "a b") << "bytes are not judged, only decoded";
  // The name is compared as given, without decoding.
  EXPECT_EQ(ok("to+ken=x", "to+ken"), "x");
}

// --- denied_response ------------------------------------------------------------

// Status line, headers, body of a response.
struct Response {
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool well_formed = false;

  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& h : headers) n += h.first == name;
    return n;
  }
  std::string get(std::string_view name) const {
    for (const auto& h : headers)
      if (h.first == name) return h.second;
    return {};
  }
};

Response take_apart(const std::string& r) {
  Response out;
  const size_t end = r.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  out.body = r.substr(end + 4);
  std::string_view head(r.data(), end + 2);
  size_t eol = head.find("\r\n");
  out.status_line = std::string(head.substr(0, eol));
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0 || line.find('\n') != std::string_view::npos ||
        line.find('\r') != std::string_view::npos)
      return out;
    out.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  out.well_formed = true;
  return out;
}

TEST(DeniedResponse, Unauthorized) {
  const std::string r = denied_response(401, "token required");
  const Response p = take_apart(r);
  ASSERT_TRUE(p.well_formed) << r;
  EXPECT_EQ(p.status_line, "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(p.count("WWW-Authenticate"), 1u);
  EXPECT_EQ(p.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(p.get("Connection"), "close");
  EXPECT_EQ(p.get("Content-Type"), "text/plain");
  EXPECT_EQ(p.count("Content-Length"), 1u);
  EXPECT_EQ(p.get("Content-Length"), std::to_string(p.body.size()));
  EXPECT_EQ(p.body, "token required\n");
  EXPECT_EQ(r,
            "HTTP/1.1 401 Unauthorized\r\n"
            "WWW-Authenticate: Bearer\r\n"
            "Connection: close\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 15\r\n"
            "\r\n"
            "token required\n");
}

TEST(DeniedResponse, Forbidden) {
  const std::string r = denied_response(403, "tenant does not match the token");
  const Response p = take_apart(r);
  ASSERT_TRUE(p.well_formed) << r;
  EXPECT_EQ(p.status_line, "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(p.count("WWW-Authenticate"), 0u) << "only a 401 asks for credentials";
  EXPECT_EQ(p.get("Connection"), "close");
  EXPECT_EQ(p.get("Content-Type"), "text/plain");
  EXPECT_EQ(p.count("Content-Length"), 1u);
  EXPECT_EQ(p.get("Content-Length"), std::to_string(p.body.size()));
  EXPECT_EQ(p.body, "tenant does not match the token\n");
  EXPECT_TRUE(detail::content_length_matches(r));
}

TEST(DeniedResponse, ContentLengthFollowsTheReason) {
  for (int status : {401, 403}) {
    for (const std::string& reason :
         {std::string(), std::string("x"), std::string("token expired"), std::string(9, 'r'), std::string(10, 'r'),
          std::string(99, 'r'), std::string(100, 'r'), std::string(4096, 'r'), std::string("caf\xc3\xa9")}) {
      SCOPED_TRACE(std::to_string(status) + " / " + std::to_string(reason.size()));
      const std::string r = denied_response(status, reason);
      const Response p = take_apart(r);
      ASSERT_TRUE(p.well_formed) << r;
      EXPECT_EQ(p.body, reason + "\n");
      EXPECT_EQ(p.get("Content-Length"), std::to_string(p.body.size()));
      EXPECT_TRUE(detail::content_length_matches(r));
      EXPECT_EQ(p.count("WWW-Authenticate"), status == 401 ? 1u : 0u);
      EXPECT_TRUE(r.starts_with(status == 401 ? "HTTP/1.1 401 " : "HTTP/1.1 403 "));
    }
  }
}

}  // namespace
}  // namespace ringcast::http
