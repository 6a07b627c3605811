// One routed message while its handler runs: the Request a handler reads
// and the Responder it answers through, bound to the connection, the
// endpoint's shape and the parsed envelope. Lives on the stack of
// Gateway::routed_message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/reactor.hpp"
#include "protocol/envelope.hpp"
#include "protocol/gateway.hpp"
#include "protocol/router.hpp"
#include "ringcast/handler.hpp"

namespace ringcast::protocol {

class MessageContext final : public Request, public Responder {
 public:
  MessageContext(Gateway& g, core::Reactor& r, uint32_t slot, const Envelope& env, const Route& route,
                 std::string_view text)
      : gateway(g), reactor(r), slot(slot), env(env), route_(route), text_(text) {}

  // Request
  std::string_view route() const override { return env.route; }
  std::string_view text() const override { return text_; }
  uint64_t connection_id() const override { return reactor.conn_id(slot); }
  bool string_field(std::string_view path, std::string_view* out) const override;
  bool json_field(std::string_view path, std::string* out) const override;

  // Responder
  void reply(std::string_view type, std::string_view fields_json) override {
    gateway.send_reply(reactor, slot, &env, type, fields_json);
  }
  void error(std::string_view code, std::string_view message) override {
    gateway.send_error(reactor, slot, &env, &route_, code, message, {}, true);
  }
  bool publish(std::string_view channel, std::string_view type, std::string_view data_json) override;

  // For the built-in handlers.
  void error(ErrorCode code, std::string_view message, std::string_view details_json = {}) {
    gateway.send_error(reactor, slot, &env, &route_, code, message, details_json);
  }
  Protocol protocol() const { return gateway.endpoint_of(slot).config.protocol; }
  const Route& route_config() const { return route_; }

  Gateway& gateway;
  core::Reactor& reactor;
  const uint32_t slot;
  const Envelope& env;

 private:
  const Route& route_;
  std::string_view text_;
};

}  // namespace ringcast::protocol
