// Gathering the workers' answers to one API request: each of the request's
// control calls comes back (protocol/control.hpp) with a status, a body or
// the reactor's stats; once all have, finish() turns them into the HTTP
// answer. Pure: the server feeds it the answers it receives from the mesh.
//
// What a worker's answer is taken to mean (status 0 = the worker left it
// unset, read as success):
//   send        200 -> 200 {"sent":true};   410 -> 410 GONE
//   close       200/204 -> 204;             410 -> 410 GONE
//   info        200 -> 200 with the body;   410 -> 410 GONE, 404 -> 404
//   presence    200 -> 200 with the body
//   disconnect_user  body = a decimal count; the counts are summed -> {"closed":N}
//   channels    body = [{"channel":..,"subscribers":N},...]; merged by name,
//               counts summed, sorted -> {"channels":[...]}
//   stats       `stats`, one per reactor -> Prometheus text (metrics_text)
// Any other status is passed on with the worker's body when that is a JSON
// object, else with an error body; of several, the first one received wins.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <simdjson.h>

#include "api/api_response.hpp"
#include "api/metrics_text.hpp"
#include "protocol/control.hpp"

namespace ringcast::api {

class Gather {
 public:
  // parts: how many calls were sent; workers: how many worker reactors there
  // are (stats are indexed by ControlCall::part); subject: the connection id
  // as the URL named it (for messages).
  Gather(protocol::ControlOp op, uint32_t parts, uint32_t workers, std::string subject = {});

  // One answer. The call stays the caller's.
  void add(simdjson::dom::parser& parser, const protocol::ControlCall& answer);
  bool complete() const { return received_ >= parts_; }
  protocol::ControlOp op() const { return op_; }

  // The answer, once complete(). api: the API node's own counters (/metrics).
  ApiResponse finish(const ApiNodeStats& api) const;

  // The answer when the calls did not all come back in time.
  static ApiResponse timeout();

 private:
  void failed(int status, const std::string& body);
  ApiResponse single() const;

  protocol::ControlOp op_;
  uint32_t parts_;
  uint32_t received_ = 0;
  std::string subject_;
  // op with one answer: that answer.
  int status_ = 0;
  std::string body_;
  // disconnect_user
  uint64_t closed_ = 0;
  // channels
  std::map<std::string, uint64_t, std::less<>> channels_;
  // stats
  std::vector<protocol::ReactorStats> stats_;
  // The first failing answer, if any.
  bool failed_ = false;
  ApiResponse failure_;
};

}  // namespace ringcast::api
