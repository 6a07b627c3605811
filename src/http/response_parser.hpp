// HTTP/1.x responses, incrementally (llhttp in HTTP_RESPONSE mode): the
// client side of an upstream call. Bytes go in as they arrive, in pieces of
// any size; out come the status, the Content-Type, the body (Content-Length,
// chunked or until EOF), whether the connection may carry another request,
// and where the response ended, so bytes after it are left for the next one.
//
//   ResponseParser p;
//   size_t used;
//   switch (p.feed(bytes, &used)) {
//     case Result::need_more: ...              // all of bytes was used
//     case Result::complete:  ... p.body() ... // bytes[used..] is the next response's
//     case Result::error:     ... p.error() ...
//   }
//   p.reset();  // before the next response
//
// Interim 1xx responses (100 Continue, 103 Early Hints) are skipped; 101 is
// an error (nothing here asks to switch protocols). Limits: a body over
// max_body (announced or received) is body_too_large; more than max_head
// bytes of status line and header lines (trailers included) is
// head_too_large. Pure code: no I/O, no clock; the body and Content-Type are
// copied into buffers the parser keeps (and reuses) across responses, so a
// warm parser does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringcast::http {

class ResponseParser {
 public:
  static constexpr size_t kDefaultMaxBody = 1u << 20;
  static constexpr size_t kDefaultMaxHead = 64u << 10;
  // reset() gives back a body buffer grown past this, so one large answer
  // does not pin its memory to the connection for good.
  static constexpr size_t kKeepBodyCapacity = 64u << 10;

  enum class Result : uint8_t { need_more, complete, error };
  enum class Error : uint8_t {
    none,
    malformed,       // not HTTP/1.x, bad framing, bad chunk, 101, ...
    head_too_large,  // status line + headers (+ trailers) over max_head
    body_too_large,  // Content-Length or received body over max_body
    truncated,       // finish(): the connection ended inside the response
  };

  explicit ResponseParser(size_t max_body = kDefaultMaxBody, size_t max_head = kDefaultMaxHead);
  ResponseParser(const ResponseParser&) = delete;  // llhttp points back at it
  ResponseParser& operator=(const ResponseParser&) = delete;
  ~ResponseParser();

  // Ready for the next response on the same stream (or a new stream).
  void reset();

  // Feeds the next bytes of the stream. *consumed = how many belong to this
  // response: all of them for need_more, up to its last byte for complete,
  // unspecified for error. Once complete or error, further calls return the
  // same result and consume nothing until reset().
  Result feed(std::string_view bytes, size_t* consumed);
  Result feed(std::span<const uint8_t> bytes, size_t* consumed) {
    return feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), consumed);
  }

  // The stream ended (the server closed). Completes a response whose body
  // runs until EOF; anything else unfinished is `truncated`. Before any
  // byte, returns need_more (nothing was started: not an answer, not an error).
  Result finish();

  bool started() const { return started_; }  // a byte of this response was fed
  Result result() const { return result_; }
  Error error() const { return error_; }
  const char* error_reason() const;  // for logs; never null

  // Valid once complete (status also once the head is in).
  int status() const { return status_; }
  // May the connection carry another request? False for Connection: close,
  // an HTTP/1.0 answer without keep-alive, and a body delimited by EOF.
  bool keep_alive() const { return keep_alive_; }
  std::string_view content_type() const { return content_type_; }  // trimmed; empty if absent
  std::string_view body() const { return body_; }
  // Exchanges the body buffer with `other` (no copy): the caller keeps the
  // body past reset(), the parser reuses the caller's old buffer.
  void swap_body(std::string& other) { body_.swap(other); }

  size_t max_body() const { return max_body_; }

 private:
  friend struct ResponseCallbacks;

  Result fail(Error e);

  static constexpr size_t kParserBytes = 96;
  alignas(8) unsigned char parser_[kParserBytes];  // llhttp_t, kept out of this header

  std::string body_;
  std::string content_type_;
  size_t max_body_;
  size_t max_head_;
  size_t head_bytes_ = 0;
  int status_ = 0;
  Result result_ = Result::need_more;
  Error error_ = Error::none;
  // Error raised inside an llhttp callback, reported when execute returns.
  Error pending_error_ = Error::none;
  bool started_ = false;
  bool keep_alive_ = false;
  bool headers_done_ = false;
  bool message_done_ = false;
  // Header-name matching across pieces: is the name so far a prefix of
  // "content-type", and is the value being read the Content-Type's?
  bool field_started_ = false;
  bool name_is_ct_prefix_ = false;
  size_t name_len_ = 0;
  bool value_is_ct_ = false;
  bool have_content_type_ = false;
  const char* reason_ = nullptr;  // llhttp's, for malformed
};

}  // namespace ringcast::http
