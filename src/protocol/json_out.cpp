#include "protocol/json_out.hpp"

#include <charconv>

#include "protocol/json_escape.hpp"
#include "protocol/timestamp.hpp"

namespace ringcast::protocol {

JsonOut& JsonOut::str(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = json_escaped_size(p, s.size());
  const size_t at = buf_.size();
  buf_.resize(at + n + 2);
  char* out = buf_.data() + at;
  *out++ = '"';
  out = reinterpret_cast<char*>(json_escape(reinterpret_cast<uint8_t*>(out), p, s.size()));
  *out = '"';
  return *this;
}

JsonOut& JsonOut::number(uint64_t v) {
  char tmp[24];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), v);
  buf_.append(tmp, size_t(end - tmp));
  return *this;
}

JsonOut& JsonOut::timestamp(uint64_t wall_ms) {
  const size_t at = buf_.size();
  buf_.resize(at + kTimestampLength + 2);
  buf_[at] = '"';
  format_timestamp(wall_ms, buf_.data() + at + 1);
  buf_[at + 1 + kTimestampLength] = '"';
  return *this;
}

JsonOut& JsonOut::element(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      buf_.push_back('{');
      bool first = true;
      simdjson::dom::object obj;
      if (e.get_object().get(obj) != simdjson::SUCCESS) break;
      for (simdjson::dom::key_value_pair field : obj) {
        if (!first) buf_.push_back(',');
        first = false;
        str(field.key);
        buf_.push_back(':');
        element(field.value);
      }
      buf_.push_back('}');
      break;
    }
    case element_type::ARRAY: {
      buf_.push_back('[');
      bool first = true;
      simdjson::dom::array arr;
      if (e.get_array().get(arr) != simdjson::SUCCESS) break;
      for (simdjson::dom::element v : arr) {
        if (!first) buf_.push_back(',');
        first = false;
        element(v);
      }
      buf_.push_back(']');
      break;
    }
    case element_type::STRING:
      str(e.get_string().value_unsafe());
      break;
    case element_type::INT64: {
      char tmp[24];
      auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), e.get_int64().value_unsafe());
      buf_.append(tmp, size_t(end - tmp));
      break;
    }
    case element_type::UINT64:
      number(e.get_uint64().value_unsafe());
      break;
    case element_type::DOUBLE: {
      // Shortest text that reads back as the same double.
      char tmp[32];
      auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), e.get_double().value_unsafe());
      const std::string_view text(tmp, size_t(end - tmp));
      buf_.append(text);
      // A double must stay a double: "-0" would read back as the integer 0,
      // and a whole number past 2^64 ("18446744073709551616") as no number.
      if (text.find_first_of(".eEni") == std::string_view::npos) buf_.append(".0");
      break;
    }
    case element_type::BOOL:
      buf_.append(e.get_bool().value_unsafe() ? "true" : "false");
      break;
    case element_type::NULL_VALUE:
      buf_.append("null");
      break;
  }
  return *this;
}

}  // namespace ringcast::protocol
