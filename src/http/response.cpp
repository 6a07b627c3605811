#include "http/response.hpp"

namespace ringcast::http {

namespace {

#define RINGCAST_HEALTH_HEAD(connection)     \
  "HTTP/1.1 200 OK\r\n"                      \
  "Connection: " connection "\r\n"           \
  "Content-Type: application/json\r\n"       \
  "Cache-Control: no-store\r\n"              \
  "Content-Length: 16\r\n"                   \
  "\r\n"
#define RINGCAST_HEALTH_BODY "{\"status\":\"ok\"}\n"

constexpr std::string_view kHealthKeepAlive = RINGCAST_HEALTH_HEAD("keep-alive") RINGCAST_HEALTH_BODY;
constexpr std::string_view kHealthClose = RINGCAST_HEALTH_HEAD("close") RINGCAST_HEALTH_BODY;
constexpr std::string_view kHealthHeadKeepAlive = RINGCAST_HEALTH_HEAD("keep-alive");
constexpr std::string_view kHealthHeadClose = RINGCAST_HEALTH_HEAD("close");

#undef RINGCAST_HEALTH_HEAD
#undef RINGCAST_HEALTH_BODY

static_assert(detail::content_length_matches(kHealthKeepAlive));
static_assert(detail::content_length_matches(kHealthClose));
static_assert(detail::content_length_matches(kHealthHeadKeepAlive, true));
static_assert(detail::content_length_matches(kHealthHeadClose, true));

}  // namespace

std::string_view error_response(int status) {
  switch (status) {
    case 400: return kBadRequest;
    case 404: return kNotFound;
    case 405: return kMethodNotAllowed;
    case 408: return kRequestTimeout;
    case 426: return kUpgradeRequiredVersion;
    case 431: return kRequestHeaderFieldsTooLarge;
    case 503: return kServiceUnavailable;
    default: return {};
  }
}

std::string denied_response(int status, std::string_view reason) {
  std::string out = status == 401 ? "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n"
                                  : "HTTP/1.1 403 Forbidden\r\n";
  out += "Connection: close\r\nContent-Type: text/plain\r\nContent-Length: ";
  out += std::to_string(reason.size() + 1);
  out += "\r\n\r\n";
  out += reason;
  out += "\n";
  return out;
}

std::string_view upgrade_required_response() { return kUpgradeRequiredWebSocket; }

std::string_view health_response(bool keep_alive, bool head_only) {
  if (head_only) return keep_alive ? kHealthHeadKeepAlive : kHealthHeadClose;
  return keep_alive ? kHealthKeepAlive : kHealthClose;
}

}  // namespace ringcast::http
