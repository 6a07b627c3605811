// Routes that need to know who is talking (docs/PROTOCOLS.md, "Identity"):
// the channel profile's forward (stamped with the sender's identity, or
// addressed to one agent), direct messages, presence queries and token
// refresh.
#include <string>

#include "core/clock.hpp"
#include "protocol/handler_util.hpp"
#include "protocol/json_out.hpp"

namespace ringcast::protocol {

namespace {

using simdjson::dom::element;

// An optional string argument; false (with the error answered) if present
// but not a string.
bool optional_string(MessageContext& c, const std::string& path, std::string_view* out) {
  element e;
  if (!find_field(c.env.root, path, &e)) return true;
  if (e.get_string().get(*out) == simdjson::SUCCESS) return true;
  c.error(ErrorCode::invalid_field, path + " must be a string", field_details(path, "string"));
  return false;
}

// The direct-message target: to_agent_id or to_user_id at `prefix`.
// Returns false with the error answered; *kind/*name empty if neither.
bool direct_target(MessageContext& c, const std::string& prefix, TopicKind* kind, std::string_view* name,
                   std::string_view* key) {
  std::string_view agent, user;
  if (!optional_string(c, prefix + "to_agent_id", &agent) || !optional_string(c, prefix + "to_user_id", &user))
    return false;
  if (!agent.empty()) {
    *kind = TopicKind::agent;
    *name = agent;
    *key = "to_agent_id";
  } else if (!user.empty()) {
    *kind = TopicKind::user;
    *name = user;
    *key = "to_user_id";
  }
  return true;
}

// Publishes payload to a target's inbox in the sender's tenant; answers
// RECIPIENT_OFFLINE when no connection of it is open anywhere.
bool send_direct(MessageContext& c, TopicKind kind, std::string_view name, std::string_view payload) {
  Gateway& g = c.gateway;
  const std::string& inbox = g.topic_for(c.slot, name, kind);
  if (!g.broker().has_audience(inbox)) {
    std::string details;
    JsonOut(details).raw("{").str(kind == TopicKind::agent ? "agent_id" : "user_id").raw(":").str(name).raw("}");
    c.error(ErrorCode::recipient_offline, "the recipient has no open connection", details);
    return false;
  }
  if (!g.publish_payload(c.reactor, inbox, payload, c.connection_id())) {
    g.fail(c.reactor, c.slot, CloseCode::internal_error, "out of memory");
    return false;
  }
  return true;
}

const auth::Identity* require_identity(MessageContext& c) {
  const auth::Identity* id = c.gateway.identity_of(c.slot);
  if (!id) c.error(ErrorCode::unauthorized, "this needs an authenticated connection");
  return id;
}

// The channel profile's message: to everyone else in the room (or to one
// agent or user), with the server's tenant_id, agent_id, channel_id and
// timestamp, then ACK to the sender.
class Forward final : public Handler {
 public:
  void handle(const Request& req, Responder&) override {
    MessageContext& c = ctx_of(req);
    Gateway& g = c.gateway;
    element e;
    std::string_view id;
    if (c.env.root["id"].get(e) != simdjson::SUCCESS || e.get_string().get(id) != simdjson::SUCCESS) {
      c.error(ErrorCode::invalid_field, "id must be a string", field_details("id", "string"));
      return;
    }
    TopicKind kind = TopicKind::channel;
    std::string_view target, key;
    if (!direct_target(c, "", &kind, &target, &key)) return;
    const std::string_view room = g.room_of(c.slot);
    if (target.empty() && room.empty()) {
      c.error(ErrorCode::no_channel, "this connection is in no channel (connect with ?" +
                                         g.endpoint_of(c.slot).config.channel_param + "=...)");
      return;
    }
    if (!target.empty() && !require_identity(c)) return;
    const auth::Identity* who = g.identity_of(c.slot);
    std::string& msg = g.scratch(0);
    msg.clear();
    JsonOut j(msg);
    j.raw("{");
    for (simdjson::dom::key_value_pair f : c.env.root) {
      // Fields the server owns are replaced, whatever the client sent.
      if (f.key == "channel_id" || f.key == "timestamp" || f.key == "tenant_id" || f.key == "agent_id") continue;
      j.str(f.key).raw(":").element(f.value).raw(",");
    }
    if (who && !who->tenant_id.empty()) j.raw(R"("tenant_id":)").str(who->tenant_id).raw(",");
    if (who && !who->agent_id.empty()) j.raw(R"("agent_id":)").str(who->agent_id).raw(",");
    if (!room.empty()) j.raw(R"("channel_id":)").str(room).raw(",");
    j.raw(R"("timestamp":)").timestamp(core::wall_ms()).raw("}");
    if (!target.empty()) {
      if (!send_direct(c, kind, target, msg)) return;
    } else if (!g.publish_payload(c.reactor, g.topic_for(c.slot, room), msg, c.connection_id())) {
      g.fail(c.reactor, c.slot, CloseCode::internal_error, "out of memory");
      return;
    }
    reply_with(c, "ACK", "message_id", id);
  }
};

// {"type":"direct","data":{"to_user_id"|"to_agent_id":X,"type":T,"data":{...}}}:
// every connection of X in the sender's tenant gets {"type":T,"data":..,"from":..}.
class Direct final : public Handler {
 public:
  void handle(const Request& req, Responder&) override {
    MessageContext& c = ctx_of(req);
    const auth::Identity* who = require_identity(c);
    if (!who) return;
    const std::string prefix = arg_path(c, "");
    TopicKind kind = TopicKind::channel;
    std::string_view target, key;
    if (!direct_target(c, prefix, &kind, &target, &key)) return;
    if (target.empty()) {
      const std::string path = prefix + "to_user_id";
      c.error(ErrorCode::missing_field, path + " or " + prefix + "to_agent_id is required", field_details(path));
      return;
    }
    std::string_view type = "message";
    if (!optional_string(c, prefix + "type", &type)) return;
    std::string& msg = c.gateway.scratch(0);
    msg.clear();
    JsonOut j(msg);
    j.raw(R"({"type":)").str(type).raw(R"(,"data":)");
    element e;
    if (find_field(c.env.root, prefix + "data", &e)) j.element(e);
    else j.raw("{}");
    j.raw(R"(,"from":{"user_id":)").str(who->user_id).raw(R"(,"agent_id":)").str(who->agent_id);
    j.raw(R"(},"timestamp":)").timestamp(core::wall_ms()).raw("}");
    if (!send_direct(c, kind, target, msg)) return;
    reply_with(c, "sent", key, target);
  }
};

// Who is in a channel now (eventually consistent across reactors).
class Presence final : public Handler {
 public:
  void handle(const Request& req, Responder& out) override {
    MessageContext& c = ctx_of(req);
    Gateway& g = c.gateway;
    std::string_view channel;
    if (c.protocol() == Protocol::channel) {
      channel = g.room_of(c.slot);
      if (channel.empty()) {
        c.error(ErrorCode::no_channel, "this connection is in no channel");
        return;
      }
    } else {
      const std::string path = arg_path(c, "channel");
      element e;
      if (!find_field(c.env.root, path, &e)) {
        c.error(ErrorCode::missing_field, path + " is required", field_details(path));
        return;
      }
      if (!channel_name(c, e, path, &channel) || !allowed_channel(c, channel)) return;
    }
    std::string& fields = g.scratch(1);
    fields.clear();
    JsonOut(fields).raw("{").str(c.protocol() == Protocol::channel ? "channel_id" : "channel").raw(":").str(channel);
    fields += R"(,"members":)";
    g.presence_members(g.topic_for(c.slot, channel), fields);
    fields += "}";
    out.reply("presence", fields);
  }
};

// A new token for the same identity, before the current one expires.
class Refresh final : public Handler {
 public:
  void handle(const Request& req, Responder& out) override {
    MessageContext& c = ctx_of(req);
    if (!require_identity(c)) return;
    const std::string path = arg_path(c, "token");
    element e;
    std::string_view token;
    if (!find_field(c.env.root, path, &e)) {
      c.error(ErrorCode::missing_field, path + " is required", field_details(path));
      return;
    }
    if (e.get_string().get(token) != simdjson::SUCCESS) {
      c.error(ErrorCode::invalid_field, path + " must be a string", field_details(path, "string"));
      return;
    }
    int64_t expires_at = 0;
    ErrorCode refused = ErrorCode::unauthorized;
    if (!c.gateway.refresh(c.reactor, c.slot, token, &expires_at, &refused)) {
      c.error(refused, refused == ErrorCode::forbidden ? "the new token is for another identity"
                                                       : "the new token is not valid");
      return;
    }
    std::string& fields = c.gateway.scratch(1);
    fields.clear();
    JsonOut j(fields);
    j.raw(R"({"expires_at":)").number(uint64_t(expires_at > 0 ? expires_at : 0));
    std::string_view id;
    if (c.protocol() == Protocol::channel && c.env.root["id"].get(e) == simdjson::SUCCESS &&
        e.get_string().get(id) == simdjson::SUCCESS)
      j.raw(R"(,"message_id":)").str(id);
    j.raw("}");
    out.reply(c.protocol() == Protocol::channel ? "ACK" : "refreshed", fields);
  }
};

}  // namespace

void register_identity_handlers(HandlerRegistry& registry) {
  registry["forward"] = factory<Forward>();
  registry["direct"] = factory<Direct>();
  registry["presence"] = factory<Presence>();
  registry["refresh"] = factory<Refresh>();
}

}  // namespace ringcast::protocol
