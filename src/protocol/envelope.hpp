// Envelopes: one client text message parsed in place with simdjson and
// checked against its endpoint's rules: a JSON object whose route key
// ("type" or "action") is a string, an optional request_id (string or
// number) and, for the envelope profile, an optional object `data`. Errors
// are values carrying the code, a message for humans and the field at fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "protocol/error_code.hpp"

namespace ringcast::protocol {

struct Envelope {
  simdjson::dom::object root;
  std::string_view route;
  simdjson::dom::element request_id;  // valid if has_request_id
  bool has_request_id = false;
};

struct EnvelopeError {
  ErrorCode code = ErrorCode::invalid_json;
  std::string message;
  std::string field;  // dotted path, for MISSING_FIELD / INVALID_FIELD
  std::string expected;  // INVALID_FIELD: "string", "object", ...
};

struct EnvelopeRules {
  std::string_view route_key;
  bool data_must_be_object = false;  // the envelope profile's `data`
};

// data[0, len) must be followed by simdjson::SIMDJSON_PADDING readable bytes
// (receive buffers and message spills carry them). Parses without copying.
// The parser must have capacity for len bytes (Parser::allocate).
bool parse_envelope(simdjson::dom::parser& parser, const uint8_t* data, size_t len, const EnvelopeRules& rules,
                    Envelope* out, EnvelopeError* err);

// A field by dotted path ("data.channels"); false if absent.
bool find_field(simdjson::dom::object root, std::string_view path, simdjson::dom::element* out);

// An error's details naming the field at fault: {"field":F} or
// {"field":F,"expected":E}.
std::string field_details(std::string_view field, std::string_view expected = {});

// "field must be a string, not number" (an error message for INVALID_FIELD).
std::string kind_mismatch(std::string_view field, std::string_view expected, simdjson::dom::element got);

// What kind of JSON value e is, as error messages say it.
std::string_view json_kind(simdjson::dom::element e);

}  // namespace ringcast::protocol
