#include "protocol/envelope.hpp"

#include "protocol/json_out.hpp"

namespace ringcast::protocol {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool valid_channel(std::string_view name) {
  if (name.empty() || name.size() > kMaxChannelBytes) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == ':' || c == '/' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string_view json_kind(element e) {
  switch (e.type()) {
    case element_type::OBJECT: return "object";
    case element_type::ARRAY: return "array";
    case element_type::STRING: return "string";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "value";
}

std::string kind_mismatch(std::string_view field, std::string_view expected, element got) {
  const bool vowel = expected == "object" || expected == "array";
  return std::string(field) + " must be " + (vowel ? "an " : "a ") + std::string(expected) + ", not " +
         std::string(json_kind(got));
}

std::string field_details(std::string_view field, std::string_view expected) {
  std::string out;
  JsonOut j(out);
  j.raw(R"({"field":)").str(field);
  if (!expected.empty()) j.raw(R"(,"expected":)").str(expected);
  j.raw("}");
  return out;
}

bool find_field(simdjson::dom::object root, std::string_view path, element* out) {
  simdjson::dom::object obj = root;
  for (;;) {
    const size_t dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    element e;
    if (obj[key].get(e) != simdjson::SUCCESS) return false;
    if (dot == std::string_view::npos) {
      *out = e;
      return true;
    }
    if (e.get_object().get(obj) != simdjson::SUCCESS) return false;
    path.remove_prefix(dot + 1);
  }
}

namespace {

bool invalid(EnvelopeError* err, std::string_view field, std::string_view expected, element got) {
  err->code = ErrorCode::invalid_field;
  err->field = std::string(field);
  err->expected = std::string(expected);
  err->message = kind_mismatch(field, expected, got);
  return false;
}

}  // namespace

bool parse_envelope(simdjson::dom::parser& parser, const uint8_t* data, size_t len, const EnvelopeRules& rules,
                    Envelope* out, EnvelopeError* err) {
  element doc;
  const simdjson::error_code ec = parser.parse(data, len, false).get(doc);
  if (ec != simdjson::SUCCESS) {
    err->code = ErrorCode::invalid_json;
    err->message = std::string("invalid JSON: ") + simdjson::error_message(ec);
    return false;
  }
  if (doc.get_object().get(out->root) != simdjson::SUCCESS) {
    err->code = ErrorCode::invalid_message;
    err->message = "a message must be a JSON object, not " + std::string(json_kind(doc));
    return false;
  }
  // First, so that every later error can still echo it.
  out->has_request_id = out->root["request_id"].get(out->request_id) == simdjson::SUCCESS;
  if (out->has_request_id) {
    const element_type t = out->request_id.type();
    if (t != element_type::STRING && t != element_type::INT64 && t != element_type::UINT64 &&
        t != element_type::DOUBLE) {
      out->has_request_id = false;  // not echoed: it is the error
      return invalid(err, "request_id", "string", out->request_id);
    }
  }
  element route;
  if (out->root[rules.route_key].get(route) != simdjson::SUCCESS) {
    err->code = ErrorCode::missing_field;
    err->field = std::string(rules.route_key);
    err->message = err->field + " is required";
    return false;
  }
  if (route.get_string().get(out->route) != simdjson::SUCCESS) return invalid(err, rules.route_key, "string", route);
  if (rules.data_must_be_object) {
    element d;
    if (out->root["data"].get(d) == simdjson::SUCCESS && !d.is_object()) return invalid(err, "data", "object", d);
  }
  return true;
}

}  // namespace ringcast::protocol
