#include "api/api_request.hpp"

namespace ringcast::api {

namespace {

// A buffer that grew for a large body goes back to the allocator once drained.
constexpr size_t kKeepCapacity = 64 * 1024;
constexpr uint64_t kMaxSaneLength = uint64_t(1) << 53;

bool parse_decimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;  // 16 digits > 2^53: absurd anyway
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

bool content_length(const http::RequestHead& head, uint64_t* len, bool* present) {
  *len = 0;
  *present = false;
  bool ok = true;
  for (uint16_t i = 0; i < head.header_count && ok; ++i) {
    if (!http::iequals(head.headers[i].name, "Content-Length")) continue;
    // RFC 9110 8.6: a list of identical values may be taken as one; an
    // empty value or element is not a length.
    std::string_view rest = head.headers[i].value;
    do {
      const size_t comma = rest.find(',');
      std::string_view v = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!v.empty() && http::detail::is_ows(v.front())) v.remove_prefix(1);
      while (!v.empty() && http::detail::is_ows(v.back())) v.remove_suffix(1);
      uint64_t n = 0;
      if (!parse_decimal(v, &n) || n > kMaxSaneLength || (*present && n != *len)) {
        ok = false;
        break;
      }
      *len = n;
      *present = true;
    } while (!rest.empty());
  }
  return ok;
}

RequestReader::Step RequestReader::fail(int status, std::string_view message) {
  error_ = status;
  error_message_ = message;
  return Step::error;
}

RequestReader::Step RequestReader::next() {
  if (error_ != 0) return Step::error;
  const std::string_view data = std::string_view(buf_).substr(start_);
  if (head_len_ == 0) {
    const size_t end = http::find_head_end(data, searched_);
    if (end == 0) {
      if (!http::head_prefix_plausible(data, searched_)) return fail(400, "malformed request head");
      if (data.size() > limits_.max_head_bytes) return fail(431, "request head too large");
      searched_ = data.size();
      return Step::need_more;
    }
    if (end > limits_.max_head_bytes) return fail(431, "request head too large");
    switch (http::parse_request_head(data.substr(0, end), head_)) {
      case http::HeadError::none: break;
      case http::HeadError::too_many_headers: return fail(431, "too many header lines");
      case http::HeadError::malformed: return fail(400, "malformed request head");
    }
    uint64_t len = 0;
    bool has_length = false;
    const bool length_ok = content_length(head_, &len, &has_length);
    if (head_.find("Transfer-Encoding")) {
      if (has_length || !length_ok) return fail(400, "both Transfer-Encoding and Content-Length");
      return fail(411, "request bodies must have a Content-Length (chunked bodies are not accepted)");
    }
    if (!length_ok) return fail(400, "bad Content-Length");
    if (len > limits_.max_body_bytes) return fail(413, "request body too large");
    head_len_ = end;
    body_len_ = len;
    continue_due_ = len != 0 && head_.has_token("Expect", "100-continue");
  }
  if (data.size() - head_len_ < body_len_) {
    if (continue_due_) {
      continue_due_ = false;
      return Step::send_continue;
    }
    return Step::need_more;
  }
  // Whole: parse again, since an append since the first parse may have moved
  // the bytes the views pointed into.
  if (http::parse_request_head(data.substr(0, head_len_), head_) != http::HeadError::none)
    return fail(400, "malformed request head");
  body_ = data.substr(head_len_, size_t(body_len_));
  return Step::ready;
}

void RequestReader::consume() {
  start_ += head_len_ + size_t(body_len_);
  head_len_ = 0;
  body_len_ = 0;
  searched_ = 0;
  continue_due_ = false;
  body_ = {};
  if (start_ == buf_.size()) {
    if (buf_.capacity() > kKeepCapacity) {
      std::string().swap(buf_);
    } else {
      buf_.clear();
    }
    start_ = 0;
  } else if (start_ >= kKeepCapacity || start_ * 2 >= buf_.size()) {
    buf_.erase(0, start_);
    start_ = 0;
  }
}

}  // namespace ringcast::api
