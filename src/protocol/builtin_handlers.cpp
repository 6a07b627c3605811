// The built-in handlers, written against the public Handler interface so a
// program can replace any of them by name. They know the profile they run
// under: the envelope profile keeps arguments under `data`, the action
// profile at the top level (docs/PROTOCOLS.md).
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "protocol/json_out.hpp"
#include "protocol/message_context.hpp"
#include "protocol/router.hpp"

namespace ringcast::protocol {

namespace {

using simdjson::dom::element;

MessageContext& ctx_of(const Request& req) {
  // Only the gateway calls handlers, always with a MessageContext.
  return const_cast<MessageContext&>(static_cast<const MessageContext&>(req));
}

// Where a profile keeps a request's arguments.
std::string arg_path(const MessageContext& c, std::string_view name) {
  return (c.protocol() == Protocol::envelope ? "data." : "") + std::string(name);
}

void invalid_channel(MessageContext& c, std::string_view name) {
  std::string details;
  // Echoed only when printable and short: it is client input, going into
  // logs and UIs.
  if (name.size() <= 256) {
    bool printable = true;
    for (char ch : name) printable = printable && ch >= 0x20 && ch < 0x7f;
    if (printable) JsonOut(details).raw(R"({"channel":)").str(name).raw("}");
  }
  c.error(ErrorCode::invalid_channel, "channel names are 1 to 128 bytes of A-Z a-z 0-9 . _ - : / @", details);
}

// A channel name the request gives at `path` (a string, and a valid name);
// answers the error itself and returns false otherwise.
bool channel_name(MessageContext& c, element e, const std::string& path, std::string_view* out) {
  if (e.get_string().get(*out) != simdjson::SUCCESS) {
    c.error(ErrorCode::invalid_field, path + " must hold channel names (strings)", field_details(path, "string"));
    return false;
  }
  if (!valid_channel(*out)) {
    invalid_channel(c, *out);
    return false;
  }
  return true;
}

// The channel list of subscribe/unsubscribe: `channels` (an array of
// strings) or, in the action profile, a single `channel`. Answers the error
// itself and returns false when the list is missing or bad.
bool channel_list(MessageContext& c, std::vector<std::string_view>* out) {
  const std::string path = arg_path(c, "channels");
  element e;
  if (!find_field(c.env.root, path, &e)) {
    std::string_view one;
    element single;
    if (c.protocol() == Protocol::action && find_field(c.env.root, "channel", &single)) {
      if (!channel_name(c, single, "channel", &one)) return false;
      out->push_back(one);
      return true;
    }
    c.error(ErrorCode::missing_field, path + " is required", field_details(path));
    return false;
  }
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS || arr.size() == 0) {
    c.error(ErrorCode::invalid_field, path + " must be a non-empty array of channel names",
            field_details(path, "array"));
    return false;
  }
  for (element item : arr) {
    std::string_view name;
    if (!channel_name(c, item, path, &name)) return false;
    out->push_back(name);
  }
  return true;
}

// A reply whose only field is one string: {"key":"value"}.
void reply_with(MessageContext& c, std::string_view type, std::string_view key, std::string_view value) {
  std::string& fields = c.gateway.scratch(1);
  fields.clear();
  JsonOut(fields).raw("{").str(key).raw(":").str(value).raw("}");
  c.reply(type, fields);
}

void channels_reply(MessageContext& c, std::string_view type, const std::vector<std::string_view>& channels,
                    uint64_t wait_seq) {
  std::string& fields = c.gateway.scratch(1);
  fields.clear();
  JsonOut j(fields);
  j.raw(R"({"channels":[)");
  for (size_t i = 0; i < channels.size(); ++i) {
    if (i) j.raw(",");
    j.str(channels[i]);
  }
  j.raw("]}");
  if (wait_seq == 0) {
    c.reply(type, fields);
    return;
  }
  std::string payload;
  c.gateway.compose_reply(payload, c.slot, &c.env, type, fields);
  c.gateway.defer_text(c.reactor, c.slot, wait_seq, std::move(payload));
}

class Subscribe final : public Handler {
 public:
  void handle(const Request& req, Responder&) override {
    MessageContext& c = ctx_of(req);
    std::vector<std::string_view>& channels = channels_;
    channels.clear();
    if (!channel_list(c, &channels)) return;
    pubsub::Broker& broker = c.gateway.broker();
    const uint32_t limit = c.gateway.endpoint_of(c.slot).config.max_subscriptions;
    size_t fresh = 0;
    for (std::string_view ch : channels) fresh += broker.subscribed(c.slot, ch) ? 0 : 1;
    if (broker.subscriptions(c.slot) + fresh > limit) {
      c.error(ErrorCode::too_many_subscriptions,
              "at most " + std::to_string(limit) + " channels per connection",
              R"({"limit":)" + std::to_string(limit) + "}");
      return;
    }
    uint64_t wait = 0;
    for (std::string_view ch : channels) {
      uint64_t seq = 0;
      if (!broker.subscribe(c.slot, ch, &seq)) {
        c.gateway.fail(c.reactor, c.slot, CloseCode::internal_error, "out of memory");
        return;
      }
      wait = std::max(wait, seq);
    }
    channels_reply(c, "subscribed", channels, wait);
  }

 private:
  std::vector<std::string_view> channels_;
};

class Unsubscribe final : public Handler {
 public:
  void handle(const Request& req, Responder&) override {
    MessageContext& c = ctx_of(req);
    channels_.clear();
    if (!channel_list(c, &channels_)) return;
    for (std::string_view ch : channels_) c.gateway.broker().unsubscribe(c.slot, ch);
    channels_reply(c, "unsubscribed", channels_, 0);
  }

 private:
  std::vector<std::string_view> channels_;
};

class Ping final : public Handler {
 public:
  void handle(const Request& req, Responder& out) override {
    MessageContext& c = ctx_of(req);
    if (c.protocol() != Protocol::action) {
      out.reply("pong", "");  // these shapes carry a timestamp anyway
      return;
    }
    std::string& fields = c.gateway.scratch(1);
    fields.clear();
    JsonOut(fields).raw(R"({"timestamp":)").timestamp(core::wall_ms()).raw("}");
    out.reply("pong", fields);
  }
};

class Publish final : public Handler {
 public:
  void handle(const Request& req, Responder&) override {
    MessageContext& c = ctx_of(req);
    const std::string channel_path = arg_path(c, "channel");
    element e;
    std::string_view channel;
    if (!find_field(c.env.root, channel_path, &e)) {
      c.error(ErrorCode::missing_field, channel_path + " is required", field_details(channel_path));
      return;
    }
    if (!channel_name(c, e, channel_path, &channel)) return;
    std::string_view type = "message";
    const std::string type_path = arg_path(c, "type");
    if (c.protocol() == Protocol::envelope && find_field(c.env.root, type_path, &e) &&
        e.get_string().get(type) != simdjson::SUCCESS) {
      c.error(ErrorCode::invalid_field, type_path + " must be a string", field_details(type_path, "string"));
      return;
    }
    std::string& data = c.gateway.scratch(1);
    data.clear();
    if (find_field(c.env.root, arg_path(c, "data"), &e)) {
      JsonOut(data).element(e);
    } else {
      data = "{}";
    }
    if (!c.gateway.publish_typed(c.reactor, channel, type, data, pubsub::kNobody)) {
      c.gateway.fail(c.reactor, c.slot, CloseCode::internal_error, "out of memory");
      return;
    }
    reply_with(c, "published", "channel", channel);
  }
};

class Echo final : public Handler {
 public:
  void handle(const Request& req, Responder& out) override {
    MessageContext& c = ctx_of(req);
    std::string& fields = c.gateway.scratch(1);
    fields.clear();
    JsonOut j(fields);
    if (c.protocol() == Protocol::envelope) {
      element d;
      if (c.env.root["data"].get(d) == simdjson::SUCCESS) j.element(d);
      else j.raw("{}");
      out.reply("echo", fields);
      return;
    }
    // The request's own fields, answered as a response.
    const std::string_view route_key = c.gateway.route_key_of(c.slot);
    j.raw("{");
    bool first = true;
    for (simdjson::dom::key_value_pair f : c.env.root) {
      if (f.key == route_key || f.key == "type" || f.key == "request_id") continue;
      if (!first) j.raw(",");
      first = false;
      j.str(f.key).raw(":").element(f.value);
    }
    j.raw("}");
    out.reply("response", fields);
  }
};

// The channel profile's message: to everyone else in the room, with the
// server's channel_id and timestamp, then ACK to the sender.
class Forward final : public Handler {
 public:
  void handle(const Request& req, Responder&) override {
    MessageContext& c = ctx_of(req);
    element e;
    std::string_view id;
    if (c.env.root["id"].get(e) != simdjson::SUCCESS || e.get_string().get(id) != simdjson::SUCCESS) {
      c.error(ErrorCode::invalid_field, "id must be a string", field_details("id", "string"));
      return;
    }
    const std::string_view channel = c.gateway.broker().first_subscription(c.slot);
    if (channel.empty()) {
      c.error(ErrorCode::no_channel, "this connection is in no channel (connect with ?" +
                                         c.gateway.endpoint_of(c.slot).config.channel_param + "=...)");
      return;
    }
    std::string& msg = c.gateway.scratch(0);
    msg.clear();
    JsonOut j(msg);
    j.raw("{");
    for (simdjson::dom::key_value_pair f : c.env.root) {
      // Fields the server owns are replaced, whatever the client sent.
      if (f.key == "channel_id" || f.key == "timestamp") continue;
      j.str(f.key).raw(":").element(f.value).raw(",");
    }
    // `channel` is the topic's own name: it lives while the sender is
    // subscribed, and the sender is not among those a delivery may close.
    j.raw(R"("channel_id":)").str(channel).raw(R"(,"timestamp":)").timestamp(core::wall_ms()).raw("}");
    if (!c.gateway.publish_payload(c.reactor, channel, msg, c.connection_id())) {
      c.gateway.fail(c.reactor, c.slot, CloseCode::internal_error, "out of memory");
      return;
    }
    reply_with(c, "ACK", "message_id", id);
  }
};

template <class H>
HandlerFactory factory() {
  return [] { return std::make_unique<H>(); };
}

}  // namespace

void register_builtin_handlers(HandlerRegistry& registry) {
  registry["subscribe"] = factory<Subscribe>();
  registry["unsubscribe"] = factory<Unsubscribe>();
  registry["ping"] = factory<Ping>();
  registry["publish"] = factory<Publish>();
  registry["echo"] = factory<Echo>();
  registry["forward"] = factory<Forward>();
}

}  // namespace ringcast::protocol
