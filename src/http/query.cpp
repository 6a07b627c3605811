#include "http/query.hpp"

namespace ringcast::http {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

QueryValue query_param(std::string_view query, std::string_view name, std::string* out, size_t cap) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    out->clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '%') {
        if (i + 2 >= raw.size()) return QueryValue::bad;
        const int hi = hex_digit(raw[i + 1]), lo = hex_digit(raw[i + 2]);
        if (hi < 0 || lo < 0) return QueryValue::bad;
        c = char(hi * 16 + lo);
        i += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (out->size() == cap) return QueryValue::bad;
      out->push_back(c);
    }
    return QueryValue::ok;
  }
  return QueryValue::absent;
}

}  // namespace ringcast::http
