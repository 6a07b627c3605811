// Message handlers: what a routed endpoint (envelope, channel, action; see
// docs/PROTOCOLS.md) does with a message once it is parsed, validated and
// routed. The built-in handlers (subscribe, unsubscribe, ping, publish,
// echo) are implemented against this same interface; a program that links
// libringcast registers its own with Server::add_handler and names them in
// the config's [[endpoint.route]] tables.
//
// Threading: each reactor gets its own Handler instance (from the factory),
// and calls it on its own thread only, so a handler needs no locking for its
// own state. handle() runs on the reactor's event loop: it must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ringcast {

// One client message, valid only during Handler::handle.
class Request {
 public:
  virtual ~Request() = default;
  // The route value that selected this handler ("subscribe", "message", ...).
  virtual std::string_view route() const = 0;
  // The message text as received (a JSON object).
  virtual std::string_view text() const = 0;
  // The sender's 64-bit connection id (reactor, generation, slot).
  virtual uint64_t connection_id() const = 0;
  // A string field, by dotted path from the top ("interview_id",
  // "data.query"); false if absent or not a string. The view is unescaped
  // and valid during the call.
  virtual bool string_field(std::string_view path, std::string_view* out) const = 0;
  // Any field's value as compact JSON, appended to *out; false if absent.
  virtual bool json_field(std::string_view path, std::string* out) const = 0;
};

// How a handler answers. Replies take the endpoint's shape: the envelope
// profile wraps fields as {"type":T,"data":{...},"request_id":...,"timestamp":...};
// channel and action put them at the top level beside "type". The request's
// request_id is copied into every reply and error.
class Responder {
 public:
  virtual ~Responder() = default;
  // fields_json: a JSON object text ("{}" for none). It is not re-validated:
  // handlers must produce valid JSON.
  virtual void reply(std::string_view type, std::string_view fields_json) = 0;
  // An error in the profile's shape; code is one of docs/PROTOCOLS.md's
  // codes or the handler's own (UPPER_SNAKE_CASE).
  virtual void error(std::string_view code, std::string_view message) = 0;
  // Publishes {"type":type,"data":data_json,"channel":channel,"timestamp":...}
  // to the channel's subscribers on every reactor. False if the channel name
  // is invalid or memory ran out.
  virtual bool publish(std::string_view channel, std::string_view type, std::string_view data_json) = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(const Request& request, Responder& responder) = 0;
};

// Makes one Handler per reactor.
using HandlerFactory = std::function<std::unique_ptr<Handler>()>;

}  // namespace ringcast
