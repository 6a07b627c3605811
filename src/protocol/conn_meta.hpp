// What the gateway knows about an upgraded connection beyond the hot
// per-message state in Session: who it is (the token's identity), where it
// came from, and its seed-003 room. One allocation per WebSocket session on
// a routed or authenticated endpoint, freed at close; read by the server
// API's connection queries and by the identity features (tenancy, presence,
// direct messages, token expiry).
#pragma once

#include <cstdint>
#include <string>

#include "auth/jwt.hpp"

namespace ringcast::protocol {

struct ConnMeta {
  auth::Identity identity;
  bool authenticated = false;  // identity came from a verified token
  bool presence_events = false;  // channel profile: asked for join/leave events of its room
  std::string user_agent;      // at most kMaxUserAgent bytes of the upgrade's User-Agent
  std::string room;            // channel profile: the channel joined at upgrade ("" = none)
  std::string query;           // the upgrade's raw query string, for the $connect hook (token removed)
  uint64_t connected_at_ms = 0;  // wall clock
  uint64_t expires_ms = 0;       // reactor clock when the token (plus leeway) expires; 0 = never
};

constexpr size_t kMaxUserAgent = 256;

// When a token with this exp (seconds since the epoch; 0 = none) stops
// being valid, leeway included, on the reactor's clock (now_ms) given the
// wall clock now (wall_ms). 0 = never.
inline uint64_t token_deadline_ms(int64_t exp, uint32_t leeway_s, uint64_t now_ms, uint64_t wall_ms) {
  if (exp <= 0) return 0;
  const int64_t left_ms = (exp + int64_t(leeway_s)) * 1000 - int64_t(wall_ms);
  return now_ms + uint64_t(left_ms > 0 ? left_ms : 0) + 1;
}

}  // namespace ringcast::protocol
