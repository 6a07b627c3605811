// ringcast configuration: what the TOML file (or the embedded default) and
// the command line resolve to. Plain values, validated once at start; the
// reactors only read them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringcast {

// What a WebSocket endpoint does with the messages it receives.
enum class Protocol : uint8_t {
  echo,       // every message back whole, same opcode (conformance suites, benchmarks)
  json_echo,  // seed 001: {"type":"echo","message":"Server received: ...",...}
  envelope,   // seed 002: {type,data,request_id} envelopes, routed by `type`
  channel,    // seed 003: channel messages forwarded to the room, ACK/ERROR
  action,     // seeds 000/004: routed by `action`, API Gateway style
};

// True for the profiles that parse JSON and route it (docs/PROTOCOLS.md).
constexpr bool is_routed(Protocol p) {
  return p == Protocol::envelope || p == Protocol::channel || p == Protocol::action;
}

// What happens to a subscriber whose output queue cannot take a published message.
enum class SlowConsumerPolicy : uint8_t {
  close,  // close 1008 "slow consumer"
  drop,   // drop the message; tell the client how many were dropped once it catches up
};

// One route of a routed endpoint: messages whose route key equals `name` go
// to the handler registered as `handler` (built in: subscribe, unsubscribe,
// ping, publish, echo; more with Server::add_handler), after the `required`
// top-level fields are checked present.
struct RouteConfig {
  std::string name;
  std::string handler;
  std::vector<std::string> required;
};

struct EndpointConfig {
  std::string path;                     // exact match against the request path
  Protocol protocol = Protocol::echo;
  std::vector<std::string> subprotocols;  // accepted Sec-WebSocket-Protocol values
  uint64_t max_message_bytes = 16u << 20;  // over -> close 1009
  uint32_t idle_ping_ms = 30000;        // ping after this much receive silence; 0 = never
  uint32_t pong_timeout_ms = 10000;     // no frame within this after a ping -> close 1001
  uint64_t max_output_bytes = 1u << 20; // queued output above this pauses reading

  // Routed profiles only (docs/PROTOCOLS.md).
  std::string route_key;                // "" = the profile's own ("type", or "action")
  std::string channel_param = "channel_id";  // channel profile: query parameter naming the room
  uint32_t max_envelope_bytes = 65536;  // a longer JSON message gets MESSAGE_TOO_LARGE
  uint32_t rate_limit_per_minute = 0;   // client messages per connection; 0 = unlimited
  uint32_t rate_limit_burst = 0;        // token bucket size; 0 = rate_limit_per_minute
  uint32_t max_errors = 10;             // error replies within error_window_ms before close 1008
  uint32_t error_window_ms = 60000;
  uint32_t max_subscriptions = 256;     // channels per connection
  SlowConsumerPolicy slow_consumer = SlowConsumerPolicy::close;
  std::vector<RouteConfig> routes;      // added to (or replacing) the profile's built-in routes
};

struct ServerConfig {
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 8080;          // 0 = pick a free port (printed at start)
  uint32_t threads = 0;                 // reactors; 0 = one per online core
  bool pin_threads = true;              // reactor i runs on core i (mod cores)
  uint32_t max_connections = 0;         // per reactor; 0 = as many as the open-files limit allows
  uint32_t max_request_head_bytes = 8192;  // over -> 431
  uint32_t handshake_timeout_ms = 10000;   // upgrade not finished by then -> closed
  uint32_t close_timeout_ms = 2000;     // after our close frame, wait this long for the peer's FIN
  uint32_t shutdown_timeout_ms = 5000;  // graceful stop deadline
  uint32_t recv_buffers = 2048;         // provided receive buffers per reactor (power of two)
  uint32_t recv_buffer_bytes = 16384;   // size of each
  // The `disconnecting` notice routed endpoints send before close 1001 on a graceful stop.
  std::string shutdown_reason = "server_shutdown";
  uint32_t reconnect_delay_ms = 5000;
  uint32_t mesh_queue_depth = 4096;     // messages per reactor-to-reactor queue (power of two)
};

struct Config {
  ServerConfig server;
  std::vector<EndpointConfig> endpoints;
};

}  // namespace ringcast
