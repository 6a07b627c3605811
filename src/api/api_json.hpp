// Request bodies of the server API, parsed with simdjson and checked field by
// field; and the message a publish sends to subscribers. A bad body is a
// FieldError naming the code (INVALID_JSON, MISSING_FIELD, INVALID_FIELD), a
// message for humans and the field at fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "api/api_response.hpp"

namespace ringcast::api {

constexpr size_t kMaxBroadcastChannels = 1000;
constexpr size_t kMaxTenantBytes = 128;
constexpr size_t kMaxTypeBytes = 256;

struct FieldError {
  std::string_view code = "INVALID_JSON";
  std::string message;
  std::string field;

  ApiResponse response() const { return error_response(400, code, message, field); }
};

// A tenant id: 1 to 128 bytes of valid UTF-8 without '|' (the topic
// separator, see protocol/topics.hpp) or control characters.
bool valid_tenant(std::string_view tenant);

struct PublishRequest {
  std::vector<std::string> channels;  // publish: one; broadcast: 1..1000, duplicates dropped, in order
  std::string tenant;                 // "" = no tenant
  std::string type = "message";
  std::string data = "{}";            // compact JSON text of `data`
};

// POST /api/v1/publish {channel, tenant_id?, type?, data?} (broadcast = false)
// POST /api/v1/broadcast {channels:[...], tenant_id?, type?, data?}
bool parse_publish(simdjson::dom::parser& parser, std::string_view body, bool broadcast, PublishRequest* out,
                   FieldError* err);

// An optional body {"tenant_id":...} (POST .../disconnect): an empty body is
// fine and leaves *tenant alone.
bool parse_tenant_body(simdjson::dom::parser& parser, std::string_view body, std::string* tenant, FieldError* err);

// Writes {"type":T,"data":D,"channel":C,"timestamp":"..."} into out
// (replacing it): what a client publish sends, so subscribers cannot tell
// the two apart. data_json is already JSON text.
void compose_published(std::string& out, std::string_view type, std::string_view data_json, std::string_view channel,
                       uint64_t wall_ms);

}  // namespace ringcast::api
