// Control: what the server API node asks of the worker reactors through the
// mesh, and what they answer. The API node (api/) is one more mesh member;
// it allocates a ControlCall, sends its pointer to the reactor that owns the
// connection (or to every reactor, one call each, for questions about all of
// them); the worker fills in the answer and sends the same pointer back.
// Whoever holds the pointer owns it; nothing is shared while in flight.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/mesh.hpp"
#include "pubsub/broker.hpp"

namespace ringcast::protocol {

enum ControlKind : uint16_t {
  kControlCall = pubsub::kFirstOtherKind,  // ptr = ControlCall*, to a worker
  kControlAnswer,                          // ptr = ControlCall*, back to the asker
  kPresenceDelta,                          // ptr = PresenceDelta* (presence.hpp)
};

enum class ControlOp : uint8_t {
  send,             // conn: queue `text` as one text frame -> 200, or 410 gone
  close,            // conn: close with close_code and `text` as the reason -> 204, or 410
  info,             // conn: body = a JSON object (connected_at, last_active_at, ip, user_agent, identity, channels) or 410
  disconnect_user,  // every connection of user `name` in tenant `tenant` -> body = count closed (decimal)
  channels,         // body = a JSON array [{"channel":"a","subscribers":N},...]: this reactor's channels of
                    // `tenant` whose names start with `name` (a prefix), N = its local subscribers
  presence,         // body = {"channel":C,"members":[{"user_id":..,"agent_id":..,"connections":N}]} for
                    // channel `name` of `tenant` (every reactor holds all of it: ask any one)
  stats,            // fills `stats`
};

// Close codes and handshake answers counted in ReactorStats, by index.
constexpr std::array<uint16_t, 13> kCountedCloseCodes = {1000, 1001, 1002, 1003, 1006, 1007, 1008,
                                                         1009, 1010, 1011, 1013, 3000, 0 /* other */};
constexpr std::array<uint16_t, 11> kCountedHandshakeStatus = {400, 401, 403, 404, 405, 408,
                                                              426, 431, 503, 500, 0 /* other */};
// Publish-to-delivery latency buckets (upper bounds, microseconds); one more for +Inf.
constexpr std::array<uint32_t, 12> kLatencyBucketsUs = {10,   25,   50,    100,   250,   500,
                                                        1000, 2500, 10000, 25000, 100000, 1000000};

// One reactor's counters, copied on its own thread when asked (never read
// across threads while being written).
struct ReactorStats {
  uint64_t connections_open = 0;  // upgraded and not yet closed
  uint64_t connections_accepted = 0;  // upgrades completed
  std::array<uint64_t, kCountedCloseCodes.size()> closed_by_code{};
  std::array<uint64_t, kCountedHandshakeStatus.size()> handshake_failures{};
  uint64_t messages_in = 0, messages_out = 0;
  uint64_t bytes_in = 0, bytes_out = 0;  // WebSocket payload bytes
  uint64_t publishes = 0;                // publishes started on this reactor (clients and API)
  uint64_t deliveries = 0;               // published frames queued on this reactor's subscribers
  uint64_t slow_consumer_closes = 0, slow_consumer_drops = 0;
  uint64_t rate_limited = 0, abuse_closes = 0;
  uint64_t auth_failures = 0;
  uint64_t upstream_requests = 0, upstream_failures = 0;
  uint64_t mesh_spilled = 0;          // messages waiting for room in a full mesh queue, now
  uint64_t output_bytes_queued = 0;   // bytes waiting in connections' output queues, now
  std::array<uint64_t, kLatencyBucketsUs.size() + 1> delivery_latency{};  // cumulative counts are summed by the reader
  uint64_t delivery_latency_sum_us = 0;
};

struct ControlCall {
  uint64_t id = 0;    // the asker's number for the HTTP request this serves
  uint32_t part = 0;  // which reactor this call went to (for fan-out questions)
  ControlOp op = ControlOp::send;
  uint16_t close_code = 1000;
  uint64_t conn = 0;
  std::string tenant;  // "" = no tenant
  std::string name;    // user id, channel prefix
  std::string text;    // send: the payload; close: the reason
  // The answer.
  int status = 0;
  std::string body;
  ReactorStats stats;
};

}  // namespace ringcast::protocol
