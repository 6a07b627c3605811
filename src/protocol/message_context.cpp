#include "protocol/message_context.hpp"

#include "protocol/json_out.hpp"

namespace ringcast::protocol {

bool MessageContext::string_field(std::string_view path, std::string_view* out) const {
  simdjson::dom::element e;
  return find_field(env.root, path, &e) && e.get_string().get(*out) == simdjson::SUCCESS;
}

bool MessageContext::json_field(std::string_view path, std::string* out) const {
  simdjson::dom::element e;
  if (!find_field(env.root, path, &e)) return false;
  JsonOut(*out).element(e);
  return true;
}

bool MessageContext::publish(std::string_view channel, std::string_view type, std::string_view data_json) {
  if (!valid_channel(channel)) return false;
  return gateway.publish_typed(reactor, gateway.topic_for(slot, channel), channel, type, data_json, pubsub::kNobody);
}

}  // namespace ringcast::protocol
