// The error codes a routed endpoint answers with (docs/PROTOCOLS.md).
#pragma once

#include <cstdint>
#include <string_view>

namespace ringcast::protocol {

enum class ErrorCode : uint8_t {
  invalid_json,
  invalid_message,
  missing_field,
  invalid_field,
  unknown_type,
  message_too_large,
  binary_not_supported,
  invalid_channel,
  too_many_subscriptions,
  no_channel,
  rate_limited,
  messages_dropped,
  forbidden,
  unauthorized,
  recipient_offline,
  upstream_unavailable,
  upstream_timeout,
  upstream_error,
};

constexpr std::string_view error_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::invalid_json: return "INVALID_JSON";
    case ErrorCode::invalid_message: return "INVALID_MESSAGE";
    case ErrorCode::missing_field: return "MISSING_FIELD";
    case ErrorCode::invalid_field: return "INVALID_FIELD";
    case ErrorCode::unknown_type: return "UNKNOWN_TYPE";
    case ErrorCode::message_too_large: return "MESSAGE_TOO_LARGE";
    case ErrorCode::binary_not_supported: return "BINARY_NOT_SUPPORTED";
    case ErrorCode::invalid_channel: return "INVALID_CHANNEL";
    case ErrorCode::too_many_subscriptions: return "TOO_MANY_SUBSCRIPTIONS";
    case ErrorCode::no_channel: return "NO_CHANNEL";
    case ErrorCode::rate_limited: return "RATE_LIMITED";
    case ErrorCode::messages_dropped: return "MESSAGES_DROPPED";
    case ErrorCode::forbidden: return "FORBIDDEN";
    case ErrorCode::unauthorized: return "UNAUTHORIZED";
    case ErrorCode::recipient_offline: return "RECIPIENT_OFFLINE";
    case ErrorCode::upstream_unavailable: return "UPSTREAM_UNAVAILABLE";
    case ErrorCode::upstream_timeout: return "UPSTREAM_TIMEOUT";
    case ErrorCode::upstream_error: return "UPSTREAM_ERROR";
  }
  return "INTERNAL_ERROR";
}

// Errors the server reports about itself, not the client's fault, do not
// count towards the abuse limit.
constexpr bool counts_as_abuse(ErrorCode c) {
  return c != ErrorCode::rate_limited && c != ErrorCode::messages_dropped && c != ErrorCode::recipient_offline &&
         c != ErrorCode::upstream_unavailable && c != ErrorCode::upstream_timeout && c != ErrorCode::upstream_error;
}

// Channel names: 1 to 128 bytes of A-Z a-z 0-9 . _ - : / @ (safe in URLs,
// JSON and metric labels without escaping).
constexpr size_t kMaxChannelBytes = 128;
bool valid_channel(std::string_view name);

}  // namespace ringcast::protocol
