// One whole API request -> what to do about it: answer at once, publish, or
// ask the workers (control calls, answered later through a Gather). All the
// checking happens here (key, path, method, query, body), so the server only
// does I/O. Pure apart from the parser it is lent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "api/api_auth.hpp"
#include "api/api_gather.hpp"
#include "api/api_json.hpp"
#include "api/api_response.hpp"
#include "http/request_head.hpp"
#include "protocol/control.hpp"
#include "ringcast/config.hpp"

namespace ringcast::api {

// How long a request waits for the workers' answers before it is answered 503.
constexpr uint64_t kCallDeadlineMs = 5000;

struct DispatchContext {
  const ApiConfig& config;
  const ApiKeys& keys;
  uint32_t workers;  // worker reactors: mesh members 0..workers-1
  bool ready;        // /readyz
  simdjson::dom::parser& parser;
};

struct Action {
  enum class Kind : uint8_t {
    respond,  // send `response`
    publish,  // publish `publish` to each of its channels, then send `response`
    call,     // send each of `calls` to worker `part`; `gather` makes the answer
  };
  Kind kind = Kind::respond;
  ApiResponse response;
  PublishRequest publish;
  std::vector<std::unique_ptr<protocol::ControlCall>> calls;  // id left 0: the server numbers them
  std::optional<Gather> gather;
};

Action dispatch(const DispatchContext& ctx, const http::RequestHead& head, std::string_view body);

}  // namespace ringcast::api
