#include "api/api_response.hpp"

#include <charconv>

#include "protocol/json_out.hpp"

namespace ringcast::api {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

ApiResponse error_response(int status, std::string_view code, std::string_view message, std::string_view field) {
  ApiResponse r;
  r.status = status;
  protocol::JsonOut j(r.body);
  j.raw(R"({"error":{"code":)").str(code).raw(R"(,"message":)").str(message);
  if (!field.empty()) j.raw(R"(,"field":)").str(field);
  j.raw("}}");
  return r;
}

ApiResponse json_response(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void write_response(std::string& out, const ApiResponse& r, bool keep_alive, bool head_only) {
  char num[24];
  auto put_number = [&](uint64_t v) {
    auto [end, ec] = std::to_chars(num, num + sizeof(num), v);
    out.append(num, size_t(end - num));
  };
  const int status = (r.status >= 100 && r.status <= 999) ? r.status : 500;
  out.append("HTTP/1.1 ");
  put_number(uint64_t(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  const bool no_content = status == 204 || status == 304;
  if (!no_content) {
    out.append("Content-Type: ");
    out.append(r.content_type);
    out.append("\r\nContent-Length: ");
    put_number(r.body.size());
    out.append("\r\n");
  }
  out.append("Cache-Control: no-store\r\n");
  out.append(keep_alive && !r.close ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  out.append(r.headers);
  out.append("\r\n");
  if (!no_content && !head_only) out.append(r.body);
}

}  // namespace ringcast::api
