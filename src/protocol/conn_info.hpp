// Describing a connection to backends (the server API's connection info,
// upstream requests and hooks): its identity as JSON, its peer address as text.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>

#include "auth/jwt.hpp"
#include "protocol/json_out.hpp"

namespace ringcast::protocol {

// The connection id as 16 lowercase hex digits (the `connected` greeting's
// session_id, the server API's {id}); out gets exactly 16 bytes, no NUL.
void format_conn_id(uint64_t conn, char* out);

// {"user_id":..,"tenant_id":..,"agent_id":..}, or null without an identity.
void write_identity(JsonOut& j, const auth::Identity* id);

// The peer's address as text ("127.0.0.1", "::1"): IPv4-mapped addresses
// print as IPv4. out must hold INET6_ADDRSTRLEN bytes.
void format_peer_ip(const sockaddr_in6& peer, char* out, size_t cap);

}  // namespace ringcast::protocol
