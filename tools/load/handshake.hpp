// The client half of the RFC 6455 opening handshake (§4.1, §4.2.2).
//
// write_request() builds the GET with a fresh random Sec-WebSocket-Key;
// check_response() parses the server's answer from a buffer that may hold
// only part of it. The response is accepted only if it is "HTTP/1.1 101",
// carries Upgrade: websocket, a Connection header with the "upgrade" token,
// and the Sec-WebSocket-Accept that matches our key (base64 of SHA-1 of
// key + GUID, computed with libcrypto), and no extension or subprotocol we did
// not offer. Pure functions: no I/O, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace load::ws {

inline constexpr size_t kKeyLength = 24;  // base64 of 16 bytes

// Writes the base64 of 16 random bytes (seeded by the caller's generator
// output r0, r1) into key[24].
void make_key(uint64_t r0, uint64_t r1, char key[kKeyLength]);

// The Sec-WebSocket-Accept value for a key: 28 characters into out[28].
void expected_accept(std::string_view key, char out[28]);

// Writes the upgrade request; returns its length, or 0 if it needs more than
// `cap` bytes. `host` is the Host header value (host[:port]).
size_t write_request(char* out, size_t cap, std::string_view host, std::string_view path,
                     std::string_view key);

enum class HandshakeStatus { incomplete, ok, failed };

struct HandshakeResult {
  HandshakeStatus status;
  size_t head_bytes;   // ok: bytes of the response head, frames may follow
  const char* error;   // failed: a constant string naming what was wrong
};

HandshakeResult check_response(std::string_view buf, std::string_view key);

}  // namespace load::ws
