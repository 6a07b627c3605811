// Helpers the built-in handlers share: where a profile keeps a request's
// arguments, channel-name checks with their error replies, one-field replies.
#include "protocol/handler_util.hpp"

#include "protocol/json_out.hpp"

namespace ringcast::protocol {

using simdjson::dom::element;

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

bool allowed_channel(MessageContext& c, std::string_view channel) {
  if (c.gateway.channel_allowed(c.slot, channel)) return true;
  std::string details;
  JsonOut(details).raw(R"({"channel":)").str(channel).raw("}");
  c.error(ErrorCode::forbidden, "the token does not allow this channel", details);
  return false;
}

}  // namespace ringcast::protocol
