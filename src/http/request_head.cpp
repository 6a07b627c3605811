#include "http/request_head.hpp"

#include <llhttp.h>

namespace ringcast::http {

namespace {

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// RFC 9110 tchar: what a header name may be made of.
constexpr bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// llhttp as Debian builds it is the loose variant (LLHTTP_STRICT_MODE 0): it
// takes a bare LF after the request-line, obs-fold, "Name :" and ": value",
// and stops without an error at a NUL. Request smuggling lives in exactly such
// gaps between two parsers' ideas of a message, so the framing is checked
// first, in one pass: every CR is followed by LF, every LF follows a CR, no
// line starts with whitespace, and no control byte except HTAB appears.
bool framing_is_strict(std::string_view head) {
  const size_t n = head.size();
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(head[i]);
    if (c >= 0x20 && c != 0x7F) continue;
    if (c == '\t') continue;
    if (c != '\r' || i + 1 >= n || head[i + 1] != '\n') return false;
    ++i;
    if (i + 1 < n && detail::is_ows(head[i + 1])) return false;
  }
  return true;
}

// Per-parse state; llhttp reaches it through parser.data.
struct Sink {
  RequestHead* out;
  bool too_many = false;
  // Which span llhttp reported last, so a span split across callbacks would be
  // joined rather than counted twice (it is not split when the whole head is
  // given in one execute, but nothing in llhttp's contract promises that).
  enum class Last : uint8_t { none, field, value } last = Last::none;
};

Sink& sink(llhttp_t* p) { return *static_cast<Sink*>(p->data); }

// Joins a span continuation: both pieces are adjacent bytes of the same head.
std::string_view extend(std::string_view sv, const char* at, size_t len) {
  if (sv.data() == nullptr) return {at, len};
  return {sv.data(), static_cast<size_t>(at + len - sv.data())};
}

int on_method(llhttp_t* p, const char* at, size_t len) {
  RequestHead& h = *sink(p).out;
  h.method = extend(h.method, at, len);
  return 0;
}

int on_url(llhttp_t* p, const char* at, size_t len) {
  RequestHead& h = *sink(p).out;
  h.target = extend(h.target, at, len);
  return 0;
}

int on_header_field(llhttp_t* p, const char* at, size_t len) {
  Sink& s = sink(p);
  RequestHead& h = *s.out;
  if (s.last == Sink::Last::field) {
    Header& cur = h.headers[h.header_count - 1];
    cur.name = extend(cur.name, at, len);
    return 0;
  }
  if (h.header_count == kMaxHeaders) {
    s.too_many = true;
    return HPE_USER;
  }
  h.headers[h.header_count++] = Header{{at, len}, {}};
  s.last = Sink::Last::field;
  return 0;
}

int on_header_value(llhttp_t* p, const char* at, size_t len) {
  Sink& s = sink(p);
  if (s.out->header_count == 0) return HPE_USER;  // a value before any name: not HTTP
  Header& cur = s.out->headers[s.out->header_count - 1];
  cur.value = s.last == Sink::Last::value ? extend(cur.value, at, len) : std::string_view{at, len};
  s.last = Sink::Last::value;
  return 0;
}

// 2 = "no body, stop here": llhttp returns HPE_PAUSED_UPGRADE right after the
// blank line, so it never reads past the head whatever the headers announce.
int on_headers_complete(llhttp_t*) { return 2; }

const llhttp_settings_t& settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t t;
    llhttp_settings_init(&t);
    t.on_method = on_method;
    t.on_url = on_url;
    t.on_header_field = on_header_field;
    t.on_header_value = on_header_value;
    t.on_headers_complete = on_headers_complete;
    return t;
  }();
  return s;
}

// The loose llhttp also takes extra spaces, a tab inside the target, RTSP/ICE
// and HTTP/0.9 and 2.0 request-lines; a gateway speaks HTTP/1.x only.
bool request_line_is_strict(std::string_view head, RequestHead& h) {
  if (h.method.data() != head.data() || h.method.empty()) return false;
  const size_t target_at = h.method.size() + 1;
  if (head[h.method.size()] != ' ' || h.target.data() != head.data() + target_at) return false;
  if (h.target.empty()) return false;
  for (char c : h.target) {
    if (c <= 0x20 || c >= 0x7F) return false;
  }
  const std::string_view rest = head.substr(target_at + h.target.size());
  constexpr std::string_view k10 = " HTTP/1.0\r\n", k11 = " HTTP/1.1\r\n";
  if (rest.starts_with(k11)) {
    h.version_minor = 1;
  } else if (rest.starts_with(k10)) {
    h.version_minor = 0;
  } else {
    return false;
  }
  h.version_major = 1;
  return true;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

const Header* RequestHead::find(std::string_view name) const {
  for (uint16_t i = 0; i < header_count; ++i) {
    if (iequals(headers[i].name, name)) return &headers[i];
  }
  return nullptr;
}

size_t RequestHead::count(std::string_view name) const {
  size_t n = 0;
  for (uint16_t i = 0; i < header_count; ++i) n += iequals(headers[i].name, name);
  return n;
}

bool RequestHead::has_token(std::string_view header, std::string_view token) const {
  bool found = false;
  for_each_token(header, [&](std::string_view t) {
    found = iequals(t, token);
    return !found;
  });
  return found;
}

size_t find_head_end(std::string_view data, size_t searched_until) {
  constexpr std::string_view kEnd = "\r\n\r\n";
  // The terminator may straddle the old and new bytes: back up 3. A mark
  // beyond the data means the buffer was reset under it: search it all.
  const size_t from = searched_until > data.size() ? 0
                      : searched_until >= 3        ? searched_until - 3
                                                   : 0;
  const size_t at = data.find(kEnd, from);
  return at == std::string_view::npos ? 0 : at + kEnd.size();
}

namespace {

constexpr size_t kMaxMethodLength = 20;

// Is `line` (no CR/LF in it) a possible prefix of "METHOD SP target SP HTTP/1.x"?
bool request_line_prefix_ok(std::string_view line) {
  size_t i = 0;
  // '-' too: llhttp parses M-SEARCH (SSDP) as an HTTP/1.x method, and a head
  // that parse_request_head accepts must never be turned away before it ends.
  while (i < line.size() && ((line[i] >= 'A' && line[i] <= 'Z') || line[i] == '-')) ++i;
  if (i == line.size()) return i <= kMaxMethodLength;
  if (i == 0 || i > kMaxMethodLength || line[i] != ' ') return false;
  ++i;
  const size_t target = i;
  while (i < line.size() && uint8_t(line[i]) > 0x20 && uint8_t(line[i]) < 0x7F) ++i;
  if (i == line.size()) return true;
  if (i == target || line[i] != ' ') return false;
  const std::string_view version = line.substr(i + 1);
  constexpr std::string_view kVersion = "HTTP/1.";
  if (version.size() <= kVersion.size()) return kVersion.starts_with(version);
  return version.starts_with(kVersion) && version.size() == kVersion.size() + 1 &&
         (version.back() == '0' || version.back() == '1');
}

}  // namespace

bool head_prefix_plausible(std::string_view data, size_t searched_until) {
  const size_t from = searched_until > data.size() ? 0 : (searched_until > 0 ? searched_until - 1 : 0);
  for (size_t i = from; i < data.size(); ++i) {
    const uint8_t c = uint8_t(data[i]);
    if (c == '\n') {
      if (i == 0 || data[i - 1] != '\r') return false;  // bare LF
    } else if ((c < 0x20 && c != '\r' && c != '\t') || c == 0x7F) {
      return false;  // NUL, TLS record bytes and other controls never appear in a head
    } else if (i > 0 && data[i - 1] == '\r') {
      return false;  // CR not followed by LF
    }
  }
  const size_t eol = data.find('\r');
  if (eol == std::string_view::npos) return request_line_prefix_ok(data);
  return request_line_prefix_ok(data.substr(0, eol)) && data.substr(0, eol).find(" HTTP/1.") != std::string_view::npos;
}

HeadError parse_request_head(std::string_view head, RequestHead& out) {
  out.method = out.target = out.path = out.query = {};
  out.version_major = out.version_minor = 0;
  out.header_count = 0;
  out.keep_alive = out.has_body = false;

  if (!head.ends_with("\r\n\r\n") || !framing_is_strict(head)) return HeadError::malformed;

  Sink s{&out};
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings());
  parser.data = &s;
  const llhttp_errno_t err = llhttp_execute(&parser, head.data(), head.size());
  if (s.too_many) return HeadError::too_many_headers;
  // Stopping anywhere but the last byte means llhttp saw a different head end
  // than find_head_end did; the caller's idea of the head length must be exact.
  if (err != HPE_PAUSED_UPGRADE || llhttp_get_error_pos(&parser) != head.data() + head.size()) {
    return HeadError::malformed;
  }
  if (!request_line_is_strict(head, out)) return HeadError::malformed;

  for (uint16_t i = 0; i < out.header_count; ++i) {
    Header& h = out.headers[i];
    if (h.name.empty()) return HeadError::malformed;
    for (char c : h.name) {
      if (!is_tchar(static_cast<unsigned char>(c))) return HeadError::malformed;
    }
    // llhttp drops leading OWS but keeps trailing OWS.
    while (!h.value.empty() && detail::is_ows(h.value.back())) h.value.remove_suffix(1);
  }

  // Returning 2 skipped llhttp's own RFC 9112 6.3 check, which makes a request
  // whose Transfer-Encoding does not end in chunked unframeable: restore it.
  if ((parser.flags & F_TRANSFER_ENCODING) && !(parser.flags & F_CHUNKED)) {
    return HeadError::malformed;
  }
  out.has_body = (parser.flags & F_CHUNKED) ||
                 ((parser.flags & F_CONTENT_LENGTH) && parser.content_length > 0);

  out.keep_alive = out.version_minor >= 1 ? !out.has_token("Connection", "close")
                                          : out.has_token("Connection", "keep-alive");

  const size_t q = out.target.find('?');
  out.path = out.target.substr(0, q);
  out.query = q == std::string_view::npos ? std::string_view{} : out.target.substr(q + 1);
  return HeadError::none;
}

}  // namespace ringcast::http
