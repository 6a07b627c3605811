#include "http/response_parser.hpp"

#include <llhttp.h>

namespace ringcast::http {

namespace {

constexpr std::string_view kContentType = "content-type";
// What a header line costs beyond its name and value (": ", CRLF): counted
// so that a flood of empty header lines still reaches max_head.
constexpr size_t kHeaderLineOverhead = 4;
// reset() also gives back a Content-Type buffer grown past this.
constexpr size_t kKeepContentTypeCapacity = 1024;

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 tchar: what a header name may be made of. The loose llhttp that
// Debian builds lets "Bad Name:" through; a framing header spelled that way
// would mean something else to the next parser, so it is an error here.
constexpr bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

llhttp_t* as_llhttp(unsigned char* storage) { return reinterpret_cast<llhttp_t*>(storage); }

}  // namespace

// The llhttp callbacks, with access to the parser's state. Each returns 0,
// HPE_USER after recording the error in pending_error_, or HPE_PAUSED at
// the end of a final response (so execute stops right after its last byte).
struct ResponseCallbacks {
  static ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }

  static int count_head(llhttp_t* p, size_t len) {
    ResponseParser& r = self(p);
    r.head_bytes_ += len;
    if (r.head_bytes_ > r.max_head_) {
      r.pending_error_ = ResponseParser::Error::head_too_large;
      return HPE_USER;
    }
    return 0;
  }

  static int on_status(llhttp_t* p, const char*, size_t len) { return count_head(p, len); }

  static int on_header_field(llhttp_t* p, const char* at, size_t len) {
    if (int rc = count_head(p, len)) return rc;
    ResponseParser& r = self(p);
    for (size_t i = 0; i < len; ++i) {
      if (!is_tchar(static_cast<unsigned char>(at[i]))) {
        r.pending_error_ = ResponseParser::Error::malformed;
        return HPE_USER;
      }
    }
    if (!r.field_started_) {
      r.field_started_ = true;
      r.name_len_ = 0;
      r.name_is_ct_prefix_ = true;
    }
    // The name may come in pieces: match it against "content-type" as it goes.
    for (size_t i = 0; i < len && r.name_is_ct_prefix_; ++i) {
      const size_t at_name = r.name_len_ + i;
      r.name_is_ct_prefix_ = at_name < kContentType.size() && lower(at[i]) == kContentType[at_name];
    }
    r.name_len_ += len;
    return 0;
  }

  static int on_header_field_complete(llhttp_t* p) {
    ResponseParser& r = self(p);
    if (!r.field_started_ || r.name_len_ == 0) {  // ": value", which the loose llhttp lets through
      r.pending_error_ = ResponseParser::Error::malformed;
      return HPE_USER;
    }
    r.field_started_ = false;
    // The first Content-Type wins; a repeated one and trailers are ignored.
    r.value_is_ct_ = !r.headers_done_ && r.name_is_ct_prefix_ && r.name_len_ == kContentType.size() &&
                     !r.have_content_type_;
    return 0;
  }

  static int on_header_value(llhttp_t* p, const char* at, size_t len) {
    if (int rc = count_head(p, len)) return rc;
    ResponseParser& r = self(p);
    if (r.value_is_ct_ && !r.headers_done_) r.content_type_.append(at, len);
    return 0;
  }

  static int on_header_value_complete(llhttp_t* p) {
    if (int rc = count_head(p, kHeaderLineOverhead)) return rc;
    ResponseParser& r = self(p);
    if (r.value_is_ct_ && !r.headers_done_) {
      // llhttp drops leading whitespace but keeps trailing.
      while (!r.content_type_.empty() && is_ows(r.content_type_.back())) r.content_type_.pop_back();
      r.have_content_type_ = true;
    }
    r.value_is_ct_ = false;
    return 0;
  }

  static int on_chunk_extension(llhttp_t* p, const char*, size_t len) { return count_head(p, len); }

  static int on_headers_complete(llhttp_t* p) {
    ResponseParser& r = self(p);
    if (p->http_major != 1 || p->status_code == 101 || p->status_code < 100) {
      r.pending_error_ = ResponseParser::Error::malformed;
      return HPE_USER;
    }
    r.status_ = p->status_code;
    if (p->status_code >= 200) {
      r.headers_done_ = true;
      if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r.max_body_) {
        r.pending_error_ = ResponseParser::Error::body_too_large;
        return HPE_USER;
      }
    }
    return 0;
  }

  static int on_body(llhttp_t* p, const char* at, size_t len) {
    ResponseParser& r = self(p);
    if (len > r.max_body_ - r.body_.size()) {
      r.pending_error_ = ResponseParser::Error::body_too_large;
      return HPE_USER;
    }
    r.body_.append(at, len);
    return 0;
  }

  static int on_message_complete(llhttp_t* p) {
    ResponseParser& r = self(p);
    if (p->status_code < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      r.status_ = 0;
      r.content_type_.clear();
      r.have_content_type_ = false;
      r.field_started_ = r.value_is_ct_ = false;
      return 0;
    }
    r.message_done_ = true;
    r.keep_alive_ = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;
  }

  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t t;
      llhttp_settings_init(&t);
      t.on_status = on_status;
      t.on_header_field = on_header_field;
      t.on_header_field_complete = on_header_field_complete;
      t.on_header_value = on_header_value;
      t.on_header_value_complete = on_header_value_complete;
      t.on_chunk_extension_name = on_chunk_extension;
      t.on_chunk_extension_value = on_chunk_extension;
      t.on_headers_complete = on_headers_complete;
      t.on_body = on_body;
      t.on_message_complete = on_message_complete;
      return t;
    }();
    return s;
  }
};

ResponseParser::ResponseParser(size_t max_body, size_t max_head) : max_body_(max_body), max_head_(max_head) {
  static_assert(sizeof(llhttp_t) <= kParserBytes, "ResponseParser::kParserBytes is too small for llhttp_t");
  static_assert(alignof(llhttp_t) <= 8, "llhttp_t needs more alignment than parser_ has");
  reset();
}

ResponseParser::~ResponseParser() = default;

void ResponseParser::reset() {
  llhttp_t* p = as_llhttp(parser_);
  llhttp_init(p, HTTP_RESPONSE, &ResponseCallbacks::settings());
  p->data = this;
  body_.clear();
  if (body_.capacity() > kKeepBodyCapacity) std::string().swap(body_);
  content_type_.clear();
  if (content_type_.capacity() > kKeepContentTypeCapacity) std::string().swap(content_type_);
  head_bytes_ = 0;
  status_ = 0;
  result_ = Result::need_more;
  error_ = pending_error_ = Error::none;
  reason_ = nullptr;
  started_ = keep_alive_ = headers_done_ = message_done_ = false;
  field_started_ = name_is_ct_prefix_ = value_is_ct_ = have_content_type_ = false;
  name_len_ = 0;
}

ResponseParser::Result ResponseParser::fail(Error e) {
  error_ = e;
  result_ = Result::error;
  keep_alive_ = false;
  return result_;
}

ResponseParser::Result ResponseParser::feed(std::string_view bytes, size_t* consumed) {
  *consumed = 0;
  if (result_ != Result::need_more || bytes.empty()) return result_;
  started_ = true;
  llhttp_t* p = as_llhttp(parser_);
  const llhttp_errno_t err = llhttp_execute(p, bytes.data(), bytes.size());
  if (pending_error_ != Error::none) return fail(pending_error_);
  if (err == HPE_OK) {
    *consumed = bytes.size();
    return result_;
  }
  if (err == HPE_PAUSED && message_done_) {
    *consumed = size_t(llhttp_get_error_pos(p) - bytes.data());
    result_ = Result::complete;
    return result_;
  }
  reason_ = llhttp_get_error_reason(p);
  return fail(Error::malformed);
}

ResponseParser::Result ResponseParser::finish() {
  if (result_ != Result::need_more || !started_) return result_;
  llhttp_t* p = as_llhttp(parser_);
  const llhttp_errno_t err = llhttp_finish(p);
  if (pending_error_ != Error::none) return fail(pending_error_);
  if (message_done_ && (err == HPE_PAUSED || err == HPE_OK)) {
    result_ = Result::complete;
    keep_alive_ = false;
    return result_;
  }
  return fail(Error::truncated);
}

const char* ResponseParser::error_reason() const {
  switch (error_) {
    case Error::none:
      return "no error";
    case Error::malformed:
      return reason_ && *reason_ ? reason_ : "malformed response";
    case Error::head_too_large:
      return "response head too large";
    case Error::body_too_large:
      return "response body too large";
    case Error::truncated:
      return "connection closed inside the response";
  }
  return "unknown error";
}

}  // namespace ringcast::http
