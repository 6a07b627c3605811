// The server API's paths: which endpoint a request names, its path
// parameter, query parameters, and connection ids as URLs spell them.
//
//   GET    /healthz, /readyz, /metrics
//   POST   /api/v1/publish, /api/v1/broadcast
//   GET|POST|DELETE /api/v1/connections/{id}
//   POST   /api/v1/users/{user_id}/disconnect
//   GET    /api/v1/channels, /api/v1/channels/{channel}/presence
//
// HEAD is accepted wherever GET is (same headers, no body). Pure code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast::api {

enum class Endpoint : uint8_t {
  healthz,
  readyz,
  metrics,
  publish,
  broadcast,
  connection,       // GET info, POST send, DELETE close
  disconnect_user,
  channels,
  presence,
};

enum class Method : uint8_t { get, head, post, del, other };

Method method_of(std::string_view method);

struct RouteMatch {
  int status = 404;          // 0 = matched; 404 = no such path; 405 = the path exists, not with this method
  Endpoint endpoint = Endpoint::healthz;  // valid unless 404
  Method method = Method::other;
  std::string_view allow;    // 405 (and matched): the methods the path takes, for the Allow header
  std::string_view param;    // {id}, {user_id} or {channel}, still percent-encoded
};

RouteMatch route(std::string_view method, std::string_view path);

// /healthz and /readyz answer without a key.
constexpr bool is_public(Endpoint e) { return e == Endpoint::healthz || e == Endpoint::readyz; }

// %XX decoding (and '+' as a space when plus_is_space, as forms encode
// queries). False on a malformed escape.
bool percent_decode(std::string_view in, bool plus_is_space, std::string* out);

enum class QueryValue : uint8_t { absent, ok, bad };
// The first `name=value` of a query string, decoded; a bare `name` is "".
QueryValue query_param(std::string_view query, std::string_view name, std::string* out);

// A connection id: 16 hex digits, either case (as the `connected` greeting's
// session_id prints it), or a decimal number of any other length. A 16-digit
// string is always read as hex.
bool parse_conn_id(std::string_view s, uint64_t* out);

// The worker reactor an id belongs to (its top byte).
constexpr uint32_t conn_reactor(uint64_t id) { return uint32_t(id >> 56); }

// 16 lowercase hex digits.
std::string format_conn_id(uint64_t id);

}  // namespace ringcast::api
