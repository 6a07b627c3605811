// Helpers the built-in handlers share (handler_util.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/message_context.hpp"
#include "protocol/router.hpp"

namespace ringcast::protocol {

inline MessageContext& ctx_of(const Request& req) {
  // Only the gateway calls handlers, always with a MessageContext.
  return const_cast<MessageContext&>(static_cast<const MessageContext&>(req));
}

template <class H>
HandlerFactory factory() {
  return [] { return std::make_unique<H>(); };
}

// Where a profile keeps a request's arguments: "data.<name>" in the
// envelope profile, "<name>" at the top level elsewhere.
std::string arg_path(const MessageContext& c, std::string_view name);
// INVALID_CHANNEL, echoing the name when it is printable and short.
void invalid_channel(MessageContext& c, std::string_view name);
// A channel name at `path` (a string, and valid); answers the error itself
// and returns false otherwise.
bool channel_name(MessageContext& c, simdjson::dom::element e, const std::string& path, std::string_view* out);
// subscribe/unsubscribe's `channels` (or the action profile's `channel`).
bool channel_list(MessageContext& c, std::vector<std::string_view>* out);
// FORBIDDEN unless the connection's token allows the channel.
bool allowed_channel(MessageContext& c, std::string_view channel);
// A reply whose only field is one string: {"key":"value"}.
void reply_with(MessageContext& c, std::string_view type, std::string_view key, std::string_view value);

// The identity routes (identity_handlers.cpp): direct, presence, refresh,
// and the channel profile's forward.
void register_identity_handlers(HandlerRegistry& registry);

}  // namespace ringcast::protocol
