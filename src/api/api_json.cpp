#include "api/api_json.hpp"

#include <algorithm>

#include "protocol/envelope.hpp"
#include "protocol/error_code.hpp"
#include "protocol/json_out.hpp"
#include "ws/utf8.hpp"

namespace ringcast::api {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

bool fail(FieldError* err, std::string_view code, std::string message, std::string field = {}) {
  err->code = code;
  err->message = std::move(message);
  err->field = std::move(field);
  return false;
}

bool invalid(FieldError* err, std::string field, std::string message) {
  return fail(err, "INVALID_FIELD", std::move(message), std::move(field));
}

constexpr std::string_view kChannelRule = "channel names are 1 to 128 bytes of A-Z a-z 0-9 . _ - : / @";

// The root object of a body, or the error.
bool parse_object(simdjson::dom::parser& parser, std::string_view body, object* root, FieldError* err) {
  element doc;
  // realloc_if_needed: the receive buffer has no simdjson padding after the body.
  if (auto e = parser.parse(body.data(), body.size(), true).get(doc); e != simdjson::SUCCESS)
    return fail(err, "INVALID_JSON", std::string("the body is not valid JSON: ") + simdjson::error_message(e));
  if (doc.get_object().get(*root) != simdjson::SUCCESS)
    return fail(err, "INVALID_JSON", "the body must be a JSON object, not " + std::string(protocol::json_kind(doc)));
  return true;
}

bool tenant_field(object root, std::string* tenant, FieldError* err) {
  element e;
  if (root["tenant_id"].get(e) != simdjson::SUCCESS || e.is_null()) return true;
  std::string_view t;
  if (e.get_string().get(t) != simdjson::SUCCESS)
    return invalid(err, "tenant_id", protocol::kind_mismatch("tenant_id", "string", e));
  if (!t.empty() && !valid_tenant(t))
    return invalid(err, "tenant_id", "tenant_id must be 1 to 128 bytes without '|' or control characters");
  tenant->assign(t);
  return true;
}

bool channel_value(element e, std::string_view field, std::string_view* out, FieldError* err) {
  if (e.get_string().get(*out) != simdjson::SUCCESS)
    return invalid(err, std::string(field), protocol::kind_mismatch(field, "string", e));
  if (!protocol::valid_channel(*out)) return invalid(err, std::string(field), std::string(kChannelRule));
  return true;
}

}  // namespace

bool valid_tenant(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > kMaxTenantBytes) return false;
  for (char c : tenant) {
    const auto u = uint8_t(c);
    if (u < 0x20 || u == 0x7F || c == '|') return false;
  }
  return ws::utf8_valid(reinterpret_cast<const uint8_t*>(tenant.data()), tenant.size());
}

bool parse_publish(simdjson::dom::parser& parser, std::string_view body, bool broadcast, PublishRequest* out,
                   FieldError* err) {
  object root;
  if (!parse_object(parser, body, &root, err)) return false;
  out->channels.clear();
  element e;
  if (!broadcast) {
    if (root["channel"].get(e) != simdjson::SUCCESS) return fail(err, "MISSING_FIELD", "channel is required", "channel");
    std::string_view ch;
    if (!channel_value(e, "channel", &ch, err)) return false;
    out->channels.emplace_back(ch);
  } else {
    if (root["channels"].get(e) != simdjson::SUCCESS)
      return fail(err, "MISSING_FIELD", "channels is required", "channels");
    simdjson::dom::array arr;
    if (e.get_array().get(arr) != simdjson::SUCCESS)
      return invalid(err, "channels", protocol::kind_mismatch("channels", "array", e));
    const size_t n = arr.size();
    if (n == 0 || n > kMaxBroadcastChannels)
      return invalid(err, "channels", "channels must hold 1 to " + std::to_string(kMaxBroadcastChannels) + " names");
    out->channels.reserve(n);
    for (element item : arr) {
      std::string_view ch;
      if (!channel_value(item, "channels", &ch, err)) return false;
      if (std::find(out->channels.begin(), out->channels.end(), ch) == out->channels.end()) out->channels.emplace_back(ch);
    }
  }
  out->tenant.clear();
  if (!tenant_field(root, &out->tenant, err)) return false;
  out->type = "message";
  if (root["type"].get(e) == simdjson::SUCCESS) {
    std::string_view t;
    if (e.get_string().get(t) != simdjson::SUCCESS)
      return invalid(err, "type", protocol::kind_mismatch("type", "string", e));
    if (t.empty() || t.size() > kMaxTypeBytes) return invalid(err, "type", "type must be 1 to 256 bytes");
    out->type.assign(t);
  }
  out->data = "{}";
  if (root["data"].get(e) == simdjson::SUCCESS) {
    out->data.clear();
    protocol::JsonOut(out->data).element(e);
  }
  return true;
}

bool parse_tenant_body(simdjson::dom::parser& parser, std::string_view body, std::string* tenant, FieldError* err) {
  const bool blank = std::all_of(body.begin(), body.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
  if (blank) return true;
  object root;
  if (!parse_object(parser, body, &root, err)) return false;
  return tenant_field(root, tenant, err);
}

void compose_published(std::string& out, std::string_view type, std::string_view data_json, std::string_view channel,
                       uint64_t wall_ms) {
  out.clear();
  protocol::JsonOut j(out);
  j.raw(R"({"type":)").str(type).raw(R"(,"data":)").raw(data_json.empty() ? std::string_view("{}") : data_json);
  j.raw(R"(,"channel":)").str(channel).raw(R"(,"timestamp":)").timestamp(wall_ms).raw("}");
}

}  // namespace ringcast::api
