// Prebuilt HTTP answers for everything the gateway says before (or instead
// of) a WebSocket upgrade. They are constants so that answering a bad or
// hostile request costs no formatting and no allocation, and so that their
// bytes can be checked at compile time (see the static_asserts below).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringcast::http {

// Every error answer closes the connection: after a bad head the byte stream
// cannot be trusted to be framed, so nothing after it is read.
inline constexpr std::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\n"
    "Connection: close\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 12\r\n"
    "\r\n"
    "Bad Request\n";

inline constexpr std::string_view kNotFound =
    "HTTP/1.1 404 Not Found\r\n"
    "Connection: close\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    "Not Found\n";

inline constexpr std::string_view kMethodNotAllowed =
    "HTTP/1.1 405 Method Not Allowed\r\n"
    "Connection: close\r\n"
    "Allow: GET\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 19\r\n"
    "\r\n"
    "Method Not Allowed\n";

inline constexpr std::string_view kRequestTimeout =
    "HTTP/1.1 408 Request Timeout\r\n"
    "Connection: close\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 16\r\n"
    "\r\n"
    "Request Timeout\n";

// RFC 9110 15.5.22: a 426 names the protocol to switch to in Upgrade, and
// 7.8: whoever sends Upgrade lists "upgrade" in Connection. RFC 6455 4.4: a
// wrong version is answered with the versions the server speaks.
inline constexpr std::string_view kUpgradeRequiredVersion =
    "HTTP/1.1 426 Upgrade Required\r\n"
    "Connection: Upgrade, close\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 35\r\n"
    "\r\n"
    "Unsupported Sec-WebSocket-Version.\n";

// For a plain GET (curl, a browser tab) on a WebSocket path.
inline constexpr std::string_view kUpgradeRequiredWebSocket =
    "HTTP/1.1 426 Upgrade Required\r\n"
    "Connection: Upgrade, close\r\n"
    "Upgrade: websocket\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 37\r\n"
    "\r\n"
    "This endpoint speaks WebSocket only.\n";

inline constexpr std::string_view kRequestHeaderFieldsTooLarge =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Connection: close\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 32\r\n"
    "\r\n"
    "Request Header Fields Too Large\n";

inline constexpr std::string_view kServiceUnavailable =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Connection: close\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 20\r\n"
    "\r\n"
    "Service Unavailable\n";

// The constant for 400, 404, 405, 408, 426 (the Sec-WebSocket-Version
// variant), 431 or 503; empty for any other status.
std::string_view error_response(int status);

// 401 (with WWW-Authenticate: Bearer) or 403 refusing an upgrade, with a
// short reason as the body. Built per refusal: the reason varies.
std::string denied_response(int status, std::string_view reason);

// 426 with "Upgrade: websocket", for a request without any Upgrade header.
std::string_view upgrade_required_response();

// 200 for GET/HEAD /healthz: body {"status":"ok"}\n (none for HEAD, which
// still announces the GET body's Content-Length), keep-alive or close.
std::string_view health_response(bool keep_alive, bool head_only);

namespace detail {

// Compile-time check that a response is "HTTP/1.1 NNN ...", has a
// Content-Length and that it equals the bytes after the blank line
// (or, for an answer to HEAD, that there are none).
constexpr bool content_length_matches(std::string_view r, bool head_only = false) {
  if (!r.starts_with("HTTP/1.1 ") || r.size() < 13) return false;
  const size_t end = r.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  constexpr std::string_view kField = "\r\nContent-Length: ";
  const size_t at = r.find(kField);
  if (at == std::string_view::npos || at > end) return false;
  size_t len = 0;
  size_t i = at + kField.size();
  if (i >= r.size() || r[i] < '0' || r[i] > '9') return false;
  for (; r[i] >= '0' && r[i] <= '9'; ++i) len = len * 10 + static_cast<size_t>(r[i] - '0');
  if (r.substr(i, 2) != "\r\n") return false;
  const size_t body = r.size() - (end + 4);
  return head_only ? body == 0 && len > 0 : body == len;
}

}  // namespace detail

static_assert(detail::content_length_matches(kBadRequest));
static_assert(detail::content_length_matches(kNotFound));
static_assert(detail::content_length_matches(kMethodNotAllowed));
static_assert(detail::content_length_matches(kRequestTimeout));
static_assert(detail::content_length_matches(kUpgradeRequiredVersion));
static_assert(detail::content_length_matches(kUpgradeRequiredWebSocket));
static_assert(detail::content_length_matches(kRequestHeaderFieldsTooLarge));
static_assert(detail::content_length_matches(kServiceUnavailable));

}  // namespace ringcast::http
