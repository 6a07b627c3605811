// What the server API answers: a status, a body and its type, written out as
// an HTTP/1.1 response. Every body is JSON except /metrics (Prometheus text);
// every error body has one shape:
//   {"error":{"code":"INVALID_FIELD","message":"...","field":"channel"}}
#pragma once

#include <string>
#include <string_view>

namespace ringcast::api {

inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

struct ApiResponse {
  int status = 200;
  std::string body;                         // empty for 204
  std::string_view content_type = kJson;    // a constant
  std::string headers;                      // extra header lines, each ending in CRLF
  bool close = false;                       // the connection ends after this answer
};

// "OK", "Not Found", ...; "Unknown" for a status this API never sends.
std::string_view reason_phrase(int status);

// An error answer with the common body. field: the request field at fault ("" = none).
ApiResponse error_response(int status, std::string_view code, std::string_view message,
                           std::string_view field = {});
// A JSON answer.
ApiResponse json_response(int status, std::string body);

// Appends the whole response to out. head_only: an answer to HEAD (headers
// as for GET, Content-Length included, no body). keep_alive false or r.close
// -> "Connection: close". A 204 carries neither a body nor Content-Length.
void write_response(std::string& out, const ApiResponse& r, bool keep_alive, bool head_only);

// The interim answer to "Expect: 100-continue".
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace ringcast::api
