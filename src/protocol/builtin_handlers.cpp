// The built-in handlers, written against the public Handler interface so a
// program can replace any of them by name. They know the profile they run
// under: the envelope profile keeps arguments under `data`, the action
// profile at the top level (docs/PROTOCOLS.md).
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "protocol/json_out.hpp"
#include "protocol/message_context.hpp"
#include "protocol/handler_util.hpp"
#include "protocol/router.hpp"

namespace ringcast::protocol {

namespace {

using simdjson::dom::element;

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
    Gateway& g = c.gateway;
    for (std::string_view ch : channels)
      if (!allowed_channel(c, ch)) return;
    bool presence = false;
    element e;
    if (find_field(c.env.root, arg_path(c, "presence"), &e) && e.get_bool().get(presence) != simdjson::SUCCESS) {
      const std::string path = arg_path(c, "presence");
      c.error(ErrorCode::invalid_field, path + " must be true or false", field_details(path, "boolean"));
      return;
    }
    const uint32_t limit = g.endpoint_of(c.slot).config.max_subscriptions;
    size_t fresh = 0;
    for (std::string_view ch : channels) fresh += g.in_channel(c.slot, ch) ? 0 : 1;
    if (g.channel_count(c.slot) + fresh > limit) {
      c.error(ErrorCode::too_many_subscriptions,
              "at most " + std::to_string(limit) + " channels per connection",
              R"({"limit":)" + std::to_string(limit) + "}");
      return;
    }
    uint64_t wait = 0;
    for (std::string_view ch : channels) {
      uint64_t seq = 0;
      if (!g.join_channel(c.reactor, c.slot, ch, &seq) || (presence && !g.follow_presence(c.reactor, c.slot, ch, true))) {
        g.fail(c.reactor, c.slot, CloseCode::internal_error, "out of memory");
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
    for (std::string_view ch : channels_) {
      c.gateway.leave_channel(c.reactor, c.slot, ch);
      c.gateway.follow_presence(c.reactor, c.slot, ch, false);
    }
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
    if (!channel_name(c, e, channel_path, &channel) || !allowed_channel(c, channel)) return;
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
    if (!c.gateway.publish_typed(c.reactor, c.gateway.topic_for(c.slot, channel), channel, type, data,
                                 pubsub::kNobody)) {
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

}  // namespace

void register_builtin_handlers(HandlerRegistry& registry) {
  registry["subscribe"] = factory<Subscribe>();
  registry["unsubscribe"] = factory<Unsubscribe>();
  registry["ping"] = factory<Ping>();
  registry["publish"] = factory<Publish>();
  registry["echo"] = factory<Echo>();
  register_identity_handlers(registry);
}

}  // namespace ringcast::protocol
