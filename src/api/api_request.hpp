// Reading HTTP/1.1 requests off one API connection: bytes are appended as
// they arrive; next() finds the next whole request (head + Content-Length
// body) at the front of what is buffered. Keep-alive and pipelining fall out
// of it: consume() drops the request just answered and next() finds the one
// after it.
//
// Framing rules (the API reads small JSON bodies, nothing streamed):
//   * the head is parsed with http::parse_request_head (strict; 400 / 431);
//   * the body length is Content-Length (every Content-Length header and
//     list element must agree: 400 otherwise); none = no body;
//   * any Transfer-Encoding is refused: 411 alone, 400 next to a
//     Content-Length (two framings = a smuggling attempt);
//   * a declared body over max_body_bytes is 413 at once, without reading it.
// An error is final: the caller answers it and closes the connection, since
// the bytes after a request it could not frame cannot be trusted.
//
// Lifetime: head() and body() point into the reader's buffer and stay valid
// until the next append() or consume().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request_head.hpp"

namespace ringcast::api {

struct ReaderLimits {
  size_t max_head_bytes = 8192;
  uint64_t max_body_bytes = 1u << 20;
};

// The Content-Length of a parsed head: false if a value is not a decimal
// number, values disagree, or the number is absurd (over 2^53); *len = 0 and
// *present = false without the header.
bool content_length(const http::RequestHead& head, uint64_t* len, bool* present);

class RequestReader {
 public:
  enum class Step : uint8_t {
    need_more,      // no whole request yet
    send_continue,  // the head asked "Expect: 100-continue" and its body is still to come (once per request)
    ready,          // head() and body() hold the next request
    error,          // error_status() / error_message(); final
  };

  explicit RequestReader(const ReaderLimits& limits) : limits_(limits) {}

  void append(const uint8_t* p, size_t n) { buf_.append(reinterpret_cast<const char*>(p), n); }
  Step next();
  // Drops the request next() returned ready.
  void consume();

  const http::RequestHead& head() const { return head_; }
  std::string_view body() const { return body_; }
  int error_status() const { return error_; }
  std::string_view error_message() const { return error_message_; }

  // Bytes received and not yet consumed.
  size_t buffered() const { return buf_.size() - start_; }
  // True while part of a request has arrived (a head or a body is incomplete).
  bool partial() const { return buffered() != 0; }

 private:
  Step fail(int status, std::string_view message);

  ReaderLimits limits_;
  std::string buf_;
  size_t start_ = 0;     // the current request's first byte
  size_t searched_ = 0;  // find_head_end's mark, relative to start_
  size_t head_len_ = 0;  // 0 until the current head has been parsed
  uint64_t body_len_ = 0;
  bool continue_due_ = false;
  http::RequestHead head_;
  std::string_view body_;
  int error_ = 0;
  std::string_view error_message_;
};

}  // namespace ringcast::api
