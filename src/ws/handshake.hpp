// RFC 6455 section 4.2: deciding whether a parsed HTTP head is an acceptable
// WebSocket opening handshake, and writing the 101 answer.
//
// Pure functions over a RequestHead: no I/O, no exceptions; no allocation once
// each thread's SHA-1 context exists.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "http/request_head.hpp"

namespace ringcast::ws {

// Short reasons for logs and metrics. Compare a result's reason against these
// (by value) rather than against string literals.
namespace reason {
inline constexpr std::string_view kAccepted = "accepted";
inline constexpr std::string_view kNotGet = "method is not GET";
inline constexpr std::string_view kOldHttp = "HTTP version below 1.1";
inline constexpr std::string_view kHasBody = "request has a body";
inline constexpr std::string_view kBadHost = "missing or duplicate Host";
inline constexpr std::string_view kNoUpgrade = "no Upgrade header";  // a plain GET
inline constexpr std::string_view kUpgradeNotWebSocket = "Upgrade lacks websocket";
inline constexpr std::string_view kConnectionNotUpgrade = "Connection lacks upgrade";
inline constexpr std::string_view kMissingKey = "missing Sec-WebSocket-Key";
inline constexpr std::string_view kDuplicateKey = "duplicate Sec-WebSocket-Key";
inline constexpr std::string_view kBadKey = "Sec-WebSocket-Key is not 16 bytes of base64";
inline constexpr std::string_view kMissingVersion = "missing Sec-WebSocket-Version";
inline constexpr std::string_view kDuplicateVersion = "duplicate Sec-WebSocket-Version";
inline constexpr std::string_view kBadVersion = "Sec-WebSocket-Version is not 13";
}  // namespace reason

struct HandshakeResult {
  int status = 0;               // 101 = accept; otherwise the HTTP status to answer with
  std::string_view reason;      // one of ws::reason, for logs/metrics
  char accept[28];              // Sec-WebSocket-Accept (base64 of SHA-1), valid when status == 101
  std::string_view subprotocol; // chosen Sec-WebSocket-Protocol, empty if none; points into `offered`
};

// Validates a parsed head for a path that IS a WebSocket endpoint (the caller
// handles 404 for unknown paths). First failing rule wins:
//   not GET -> 405; HTTP/1.0 -> 400; a body -> 400; Host missing, empty or
//   duplicated -> 400; no Upgrade header -> 426 (reason::kNoUpgrade);
//   Upgrade without the token "websocket" -> 400; Connection without the token
//   "upgrade" -> 400; Sec-WebSocket-Key missing, duplicated or not base64 of
//   16 bytes -> 400; Sec-WebSocket-Version missing or duplicated -> 400, not
//   exactly "13" -> 426; else 101.
// offered = the endpoint's configured subprotocols; the chosen one is the
// first protocol in the client's Sec-WebSocket-Protocol list (all such
// headers, comma lists, compared case-sensitively) that appears in `offered`.
// No match is not an error: the answer simply carries no subprotocol.
HandshakeResult validate_upgrade(const http::RequestHead& head, std::span<const std::string> offered);

// The prebuilt answer for a rejected handshake: the "Upgrade: websocket" 426
// for a plain GET, the "Sec-WebSocket-Version: 13" 426 for a wrong version,
// else http::error_response(status).
std::string_view rejection_response(const HandshakeResult& r);

// base64(SHA-1(client_key + RFC 6455 GUID)), exactly 28 chars, no NUL.
void compute_accept_key(std::string_view client_key, char out[28]);

// Bytes of a 101 answer without a subprotocol; each subprotocol adds
// "Sec-WebSocket-Protocol: " + name + CRLF.
constexpr size_t kUpgradeResponseBase = 129;
// Holds any 101 answer whose subprotocol name is at most this long; configs
// should refuse longer names (RFC 6455 puts no limit, real ones are < 32).
constexpr size_t kMaxSubprotocolLength = 256;
constexpr size_t kUpgradeResponseMax = kUpgradeResponseBase + 26 + kMaxSubprotocolLength;

// Writes "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection,
// Sec-WebSocket-Accept and, if chosen, Sec-WebSocket-Protocol, then the blank
// line. Returns bytes written, 0 if cap is too small (nothing useful written).
size_t write_upgrade_response(char* out, size_t cap, const HandshakeResult& r);

}  // namespace ringcast::ws
