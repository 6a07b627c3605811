// HTTP/1.x request heads: finding where a head ends in a growing receive
// buffer, and parsing one complete head (with llhttp) into views.
//
// Lifetime: every string_view in a RequestHead points into the `head` bytes
// given to parse_request_head; they stay valid only as long as those bytes do.
// Nothing here allocates, throws or keeps state between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace ringcast::http {

// A head with more header lines than this is answered 431: the caller never
// has to size anything from the input.
constexpr size_t kMaxHeaders = 64;

struct Header {
  std::string_view name, value;  // value has no leading or trailing SP/HTAB
};

// ASCII case-insensitive equality, as header names and most tokens compare.
bool iequals(std::string_view a, std::string_view b);

struct RequestHead {
  std::string_view method;  // "GET"
  std::string_view target;  // raw request-target
  std::string_view path;    // target up to '?'
  std::string_view query;   // after '?', empty if none
  uint8_t version_major = 0, version_minor = 0;  // always 1.0 or 1.1 after a successful parse
  Header headers[kMaxHeaders];
  uint16_t header_count = 0;
  bool keep_alive = false;  // HTTP/1.1 default true unless Connection: close; 1.0 needs keep-alive
  bool has_body = false;    // Content-Length > 0 or chunked Transfer-Encoding

  // Case-insensitive, first match; nullptr if absent.
  const Header* find(std::string_view name) const;
  // How many header lines carry this name (RFC 6455 forbids some duplicates).
  size_t count(std::string_view name) const;

  // Visits every comma-separated token of every header with this name
  // (trimmed, empty tokens skipped), in order. If f returns bool, returning
  // false stops the walk. Quoted strings are not special: this is for token
  // lists (Connection, Upgrade, Sec-WebSocket-Protocol), not parameters.
  template <class F>
  void for_each_token(std::string_view name, F&& f) const;

  // Case-insensitive token compare over for_each_token.
  bool has_token(std::string_view header, std::string_view token) const;
};

// Incremental search for the end of the head (the blank line). data = all
// head bytes received so far, searched_until = the data.size() passed last
// time (0 the first time; a value beyond data.size() restarts the search),
// so rescans are O(new bytes). Returns the head
// length including the final CRLFCRLF, or 0 if not found yet. Bytes after the
// head (a pipelined request, the first WebSocket frame) are not part of it.
size_t find_head_end(std::string_view data, size_t searched_until);

// For a head not yet complete: false as soon as the bytes so far cannot
// begin a well-formed HTTP/1.x request head (a TLS ClientHello on the plain
// port, binary garbage, bare-LF line ends, a broken request line), so such
// input is answered with 400 at once instead of at the handshake deadline.
// Checks only bytes from searched_until - 1 on, except the request line,
// which it re-checks while that line is incomplete (it is short).
bool head_prefix_plausible(std::string_view data, size_t searched_until);

enum class HeadError : uint8_t { none, malformed, too_many_headers };

// Parses one complete head (exactly the bytes find_head_end delimited, ending
// in CRLFCRLF) with llhttp; views point into `head`. Stricter than llhttp's
// default (loose) build: bare CR or LF, NUL and other controls except HTAB,
// obsolete line folding, whitespace before a colon or an empty header name,
// a request-line that is not "METHOD SP target SP HTTP/1.x", a version other
// than 1.0/1.1, and a Transfer-Encoding that does not end in chunked are all
// `malformed` (the caller answers 400). More than kMaxHeaders header lines is
// `too_many_headers` (the caller answers 431). On error `out` is unspecified.
HeadError parse_request_head(std::string_view head, RequestHead& out);

// ---------------------------------------------------------------------------

namespace detail {
constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }
}  // namespace detail

template <class F>
void RequestHead::for_each_token(std::string_view name, F&& f) const {
  for (uint16_t i = 0; i < header_count; ++i) {
    if (!iequals(headers[i].name, name)) continue;
    std::string_view rest = headers[i].value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!token.empty() && detail::is_ows(token.front())) token.remove_prefix(1);
      while (!token.empty() && detail::is_ows(token.back())) token.remove_suffix(1);
      if (token.empty()) continue;
      if constexpr (std::is_same_v<std::invoke_result_t<F&, std::string_view>, bool>) {
        if (!f(token)) return;
      } else {
        f(token);
      }
    }
  }
}

}  // namespace ringcast::http
