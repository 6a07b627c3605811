// Just enough JSON reading for the fanout protocol, without a parser.
//
// The tool must work against servers that order keys differently or add
// keys, so it looks values up by key wherever they are, rather than assuming
// a layout. `"key"` matches the first occurrence of the quoted key followed
// by optional whitespace and a colon; nesting is not tracked, which is fine
// for the fixed messages of the fanout protocol (the bench keys "pub", "seq"
// and "ts" occur once). Pure functions over a string_view.
#pragma once

#include <cstdint>
#include <string_view>

namespace load {

namespace json_scan_detail {
inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Position just after `"key"\s*:\s*` for the occurrence at or after `from`,
// or npos.
inline size_t value_at(std::string_view msg, std::string_view quoted_key, size_t& from) {
  while (true) {
    size_t k = msg.find(quoted_key, from);
    if (k == msg.npos) return msg.npos;
    from = k + quoted_key.size();
    size_t i = from;
    while (i < msg.size() && is_ws(msg[i])) ++i;
    if (i >= msg.size() || msg[i] != ':') continue;  // a string value that looks like the key
    ++i;
    while (i < msg.size() && is_ws(msg[i])) ++i;
    return i;
  }
}
}  // namespace json_scan_detail

// quoted_key includes the quotes: "\"seq\"". False if absent or not a
// non-negative integer that fits in 64 bits.
inline bool scan_u64(std::string_view msg, std::string_view quoted_key, uint64_t& out) {
  size_t from = 0;
  size_t i = json_scan_detail::value_at(msg, quoted_key, from);
  if (i == msg.npos || i >= msg.size() || msg[i] < '0' || msg[i] > '9') return false;
  uint64_t v = 0;
  for (; i < msg.size() && msg[i] >= '0' && msg[i] <= '9'; ++i) {
    uint64_t d = uint64_t(msg[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

// True if some occurrence of quoted_key has the string value `value`
// (unquoted, no escapes): has_string(msg, "\"type\"", "subscribed").
inline bool has_string(std::string_view msg, std::string_view quoted_key, std::string_view value) {
  size_t from = 0;
  while (true) {
    size_t i = json_scan_detail::value_at(msg, quoted_key, from);
    if (i == msg.npos) return false;
    if (i + value.size() + 2 <= msg.size() && msg[i] == '"' && msg.substr(i + 1, value.size()) == value &&
        msg[i + 1 + value.size()] == '"')
      return true;
  }
}

}  // namespace load
