// HTTP/1.1 responses on a keep-alive connection, read in order (pipelining:
// a server answers requests in the order they came). Just enough for the
// server API: the status line, Content-Length, Connection: close; the body is
// skipped, its first kKeepBody bytes kept so an error answer can be shown.
//
// Pure: no I/O, no clock, no allocation (fixed buffers). Contract of feed():
// every byte is consumed; each complete response is told to the sink, in
// order, as on_response(status, body_prefix, close); false on malformed input
// (error() says what; the reader is then stuck, the connection unusable).
//
// Refused as malformed: a head over kMaxHead bytes, a status line that is
// not "HTTP/1.x NNN", a header line without ':', Content-Length that is not
// digits or appears twice with different values, Transfer-Encoding (the
// API sends none, and reading chunked bodies is not worth it here), and a
// response that needs a body but has no Content-Length (it would run to the
// end of the connection, which a keep-alive reader cannot use). 1xx answers
// are refused too: nothing we send asks for one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace load {

class HttpResponseReader {
 public:
  static constexpr size_t kMaxHead = 8192;
  static constexpr size_t kKeepBody = 512;

  template <class Sink>
  bool feed(const uint8_t* p, size_t n, Sink& sink) {
    if (error_) return false;
    while (n > 0) {
      if (in_head_) {
        // Copy until the blank line; look for "\r\n\r\n" only across the
        // newly added bytes (and the 3 before them).
        size_t take = n < kMaxHead - head_len_ ? n : kMaxHead - head_len_;
        if (take == 0) return fail("response head larger than 8 KiB");
        const size_t from = head_len_ >= 3 ? head_len_ - 3 : 0;
        std::memcpy(head_ + head_len_, p, take);
        head_len_ += take;
        std::string_view h(head_, head_len_);
        const size_t end = h.find("\r\n\r\n", from);
        if (end == h.npos) {
          p += take;
          n -= take;
          continue;
        }
        const size_t used = end + 4 - (head_len_ - take);  // bytes of this chunk in the head
        p += used;
        n -= used;
        if (!parse_head(h.substr(0, end + 2))) return false;
        in_head_ = false;
        body_len_ = 0;
        if (remaining_ == 0 && !finish(sink)) return false;
        continue;
      }
      const size_t take = n < remaining_ ? n : size_t(remaining_);
      if (body_len_ < kKeepBody) {
        const size_t keep = take < kKeepBody - body_len_ ? take : kKeepBody - body_len_;
        std::memcpy(body_ + body_len_, p, keep);
        body_len_ += keep;
      }
      remaining_ -= take;
      p += take;
      n -= take;
      if (remaining_ == 0 && !finish(sink)) return false;
    }
    return true;
  }

  const char* error() const { return error_; }
  // Bytes of a response received but not complete yet (0 between responses).
  bool mid_response() const { return !in_head_ || head_len_ > 0; }

 private:
  template <class Sink>
  bool finish(Sink& sink) {
    in_head_ = true;
    head_len_ = 0;
    sink.on_response(status_, std::string_view(body_, body_len_), close_);
    return true;
  }

  bool fail(const char* why) {
    error_ = why;
    return false;
  }

  static bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  // `h` is the head up to and including the last header line's CRLF.
  bool parse_head(std::string_view h) {
    size_t eol = h.find("\r\n");
    std::string_view line = h.substr(0, eol);
    // "HTTP/1.x NNN[ reason]"
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ')
      return fail("bad status line");
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
      if (line[i] < '0' || line[i] > '9') return fail("bad status code");
      status = status * 10 + (line[i] - '0');
    }
    if (line.size() > 12 && line[12] != ' ') return fail("bad status line");
    if (status < 200) return fail("unexpected 1xx response");
    status_ = status;
    close_ = line[7] == '0';  // HTTP/1.0 closes unless told otherwise; ignored below
    bool have_length = false;
    uint64_t length = 0;
    h.remove_prefix(eol + 2);
    while (!h.empty()) {
      eol = h.find("\r\n");
      line = h.substr(0, eol);
      h.remove_prefix(eol + 2);
      const size_t colon = line.find(':');
      if (colon == line.npos || colon == 0) return fail("header line without a name and ':'");
      const std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
      if (ieq(name, "content-length")) {
        if (value.empty() || value.size() > 15) return fail("bad Content-Length");
        uint64_t v = 0;
        for (char c : value) {
          if (c < '0' || c > '9') return fail("bad Content-Length");
          v = v * 10 + uint64_t(c - '0');
        }
        if (have_length && v != length) return fail("two different Content-Length headers");
        have_length = true;
        length = v;
      } else if (ieq(name, "transfer-encoding")) {
        return fail("Transfer-Encoding in a response (not supported by this reader)");
      } else if (ieq(name, "connection")) {
        if (ieq(value, "close")) close_ = true;
        else if (ieq(value, "keep-alive")) close_ = false;
      }
    }
    const bool bodiless = status == 204 || status == 304;
    if (bodiless) length = 0;
    else if (!have_length) return fail("response without Content-Length");
    remaining_ = length;
    return true;
  }

  char head_[kMaxHead];
  char body_[kKeepBody];
  size_t head_len_ = 0;
  size_t body_len_ = 0;
  uint64_t remaining_ = 0;
  int status_ = 0;
  bool in_head_ = true;
  bool close_ = false;
  const char* error_ = nullptr;
};

}  // namespace load
