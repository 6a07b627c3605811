// libFuzzer target for the routed profiles' message path up to the handler:
// parse_envelope (with the envelope profile's rules, route key "type", and
// the action profile's, route key "action"), the route lookup, find_field,
// and JsonOut, which writes parsed values back out in every reply.
//
// Input: one client text message, as is. It is copied into a heap buffer of
// exactly size + SIMDJSON_PADDING bytes (the receive path's contract), so
// ASan reports a read past the padding.
//
// Checks:
//  * whether the text is JSON, and an object, does not depend on the rules;
//  * every error has a message, and the field/expected its code implies;
//  * on success, the route is the route key's string and request_id (when
//    kept) is a string or a number; an envelope-profile `data` is an object;
//  * JsonOut::element(root) parses again, and writing that parse gives the
//    same text (a fixed point), which parses as an envelope with the same
//    route;
//  * every value find_field reaches writes out as JSON that parses;
//  * JsonOut::str of the input, when it is UTF-8, parses back to the input.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "../fuzz_check.hpp"
#include "protocol/envelope.hpp"
#include "protocol/error_code.hpp"
#include "protocol/json_out.hpp"
#include "protocol/router.hpp"

namespace {

using namespace ringcast;
using namespace ringcast::protocol;

struct Profile {
  EnvelopeRules rules;
  Router router;
  std::vector<std::unique_ptr<Handler>> handlers;
};

Profile make_profile(Protocol p, bool data_must_be_object) {
  Profile out;
  out.rules = EnvelopeRules{default_route_key(p), data_must_be_object};
  HandlerRegistry registry;
  register_builtin_handlers(registry);
  for (const RouteConfig& rc : default_routes(p)) {
    out.handlers.push_back(registry.at(rc.handler)());
    out.router.add(Route{rc.name, out.handlers.back().get(), rc.required});
  }
  return out;
}

// Parses text (copied with padding); false if it is not JSON.
bool reparse(simdjson::dom::parser& parser, const std::string& text, simdjson::dom::element* out) {
  simdjson::padded_string padded(text);
  // The parser keeps its own copy (realloc_if_needed), so out stays valid.
  return parser.parse(padded.data(), padded.size(), true).get(*out) == simdjson::SUCCESS;
}

bool is_number(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  const element_type t = e.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

void check_error(const EnvelopeError& err, const EnvelopeRules& rules) {
  FUZZ_CHECK(!err.message.empty());
  FUZZ_CHECK(error_name(err.code) != "INTERNAL_ERROR");
  switch (err.code) {
    case ErrorCode::invalid_json:
    case ErrorCode::invalid_message:
      FUZZ_CHECK(err.field.empty());
      FUZZ_CHECK(err.expected.empty());
      break;
    case ErrorCode::missing_field:
      FUZZ_CHECK(err.field == rules.route_key);
      FUZZ_CHECK(err.expected.empty());
      break;
    case ErrorCode::invalid_field:
      FUZZ_CHECK(err.field == rules.route_key || err.field == "request_id" ||
                 (rules.data_must_be_object && err.field == "data"));
      FUZZ_CHECK(err.expected == (err.field == "data" ? "object" : "string"));
      break;
    default:
      FUZZ_CHECK(false);  // parse_envelope answers with no other code
  }
}

void check_envelope(const Envelope& env, const Profile& profile) {
  // The route is the route key's value.
  simdjson::dom::element route;
  FUZZ_CHECK(find_field(env.root, profile.rules.route_key, &route));
  std::string_view route_str;
  FUZZ_CHECK(route.get_string().get(route_str) == simdjson::SUCCESS);
  FUZZ_CHECK(route_str == env.route);

  simdjson::dom::element rid;
  const bool has_rid = env.root["request_id"].get(rid) == simdjson::SUCCESS;
  FUZZ_CHECK(env.has_request_id == has_rid);
  if (env.has_request_id) FUZZ_CHECK(env.request_id.is_string() || is_number(env.request_id));

  if (profile.rules.data_must_be_object) {
    simdjson::dom::element data;
    if (env.root["data"].get(data) == simdjson::SUCCESS) FUZZ_CHECK(data.is_object());
  }

  const Route* r = profile.router.find(env.route);
  if (r) {
    FUZZ_CHECK(r->name == env.route);
    FUZZ_CHECK(r->handler != nullptr);
  }
}

// root: the document parse_envelope parsed (its parser's doc.root()).
void check_writes_back(simdjson::dom::element root, const Envelope& env, const Profile& profile) {
  FUZZ_CHECK(root.is_object());
  // The whole message, written compactly, is a fixed point after one pass.
  std::string once;
  JsonOut(once).element(root);
  simdjson::dom::parser parser;
  simdjson::dom::element again;
  FUZZ_CHECK(reparse(parser, once, &again));
  FUZZ_CHECK(again.is_object());
  std::string twice;
  JsonOut(twice).element(again);
  FUZZ_CHECK(once == twice);

  // And it is still an envelope, with the same route.
  simdjson::padded_string padded(once);
  simdjson::dom::parser parser2;
  Envelope env2;
  EnvelopeError err2;
  FUZZ_CHECK(parse_envelope(parser2, reinterpret_cast<const uint8_t*>(padded.data()), padded.size(), profile.rules,
                            &env2, &err2));
  FUZZ_CHECK(env2.route == env.route);
  FUZZ_CHECK(env2.has_request_id == env.has_request_id);

  // The fields handlers read, each written out alone.
  static const char* const kPaths[] = {"data",         "data.channels", "data.channel", "data.type",
                                       "data.data",    "request_id",    "channels",     "channel",
                                       "message",      "interview_id",  "id",           "content",
                                       "metadata.key", "",              ".",            "data..x"};
  for (const char* path : kPaths) {
    simdjson::dom::element e;
    if (!find_field(env.root, path, &e)) continue;
    std::string text;
    JsonOut(text).element(e);
    simdjson::dom::parser p;
    simdjson::dom::element back;
    FUZZ_CHECK(reparse(p, text, &back));
    FUZZ_CHECK(back.type() == e.type() || (is_number(back) && is_number(e)));
    // Channel lists: every name is checked as subscribe does.
    simdjson::dom::array arr;
    if (e.get_array().get(arr) == simdjson::SUCCESS) {
      for (simdjson::dom::element ch : arr) {
        std::string_view name;
        if (ch.get_string().get(name) != simdjson::SUCCESS) continue;
        const bool ok = valid_channel(name);
        FUZZ_CHECK(!ok || (!name.empty() && name.size() <= kMaxChannelBytes));
      }
    }
  }
}

// JsonOut::str on the raw input: valid UTF-8 must come back unchanged.
void check_str(const uint8_t* data, size_t size) {
  if (!simdjson::validate_utf8(reinterpret_cast<const char*>(data), size)) return;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string quoted;
  JsonOut(quoted).str(in);
  simdjson::dom::parser parser;
  simdjson::dom::element back;
  FUZZ_CHECK(reparse(parser, quoted, &back));
  std::string_view s;
  FUZZ_CHECK(back.get_string().get(s) == simdjson::SUCCESS);
  FUZZ_CHECK(s == in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One parser per profile, reused as a reactor reuses its own.
  static simdjson::dom::parser parsers[2];
  static const Profile profiles[2] = {make_profile(Protocol::envelope, true), make_profile(Protocol::action, false)};

  // Exactly the padding the contract promises, then the end of the block.
  std::unique_ptr<uint8_t[]> buf(new uint8_t[size + simdjson::SIMDJSON_PADDING]);
  if (size) std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, 0xA5, simdjson::SIMDJSON_PADDING);

  ErrorCode json_level[2];
  bool ok[2];
  for (int i = 0; i < 2; ++i) {
    const Profile& profile = profiles[i];
    Envelope env;
    EnvelopeError err;
    ok[i] = parse_envelope(parsers[i], buf.get(), size, profile.rules, &env, &err);
    if (!ok[i]) {
      check_error(err, profile.rules);
      json_level[i] = err.code;
      continue;
    }
    json_level[i] = ErrorCode::missing_field;  // "JSON and an object"
    check_envelope(env, profile);
    check_writes_back(parsers[i].doc.root(), env, profile);
  }
  // Whether the text is JSON, and an object, does not depend on the profile.
  auto doc_level = [](ErrorCode c) {
    return c == ErrorCode::invalid_json ? 0 : c == ErrorCode::invalid_message ? 1 : 2;
  };
  FUZZ_CHECK(doc_level(json_level[0]) == doc_level(json_level[1]));

  check_str(data, size);
  return 0;
}
