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
//
// A route may instead name an upstream: the message is POSTed to that HTTP
// service and its answer goes back to the client (docs/PROTOCOLS.md,
// "Upstreams"). Two special names: "$default" takes every message no other
// route matched.
struct RouteConfig {
  std::string name;
  std::string handler;
  std::vector<std::string> required;
  std::string upstream;  // "http://host:port/path"; "" = handled in process by `handler`
  uint32_t upstream_timeout_ms = 10000;
  uint32_t upstream_concurrency = 64;  // requests in flight per reactor; more wait in a bounded queue
};

// How a WebSocket endpoint authenticates its clients.
enum class AuthMode : uint8_t {
  none,
  jwt,  // a JWT is required at upgrade (401/403 otherwise)
};

// Where a client may put its token (a bit set).
enum TokenSource : uint8_t {
  kTokenQuery = 1,     // ?token=  (the name is token_param)
  kTokenHeader = 2,    // Authorization: Bearer
  kTokenProtocol = 4,  // a Sec-WebSocket-Protocol entry "<token_protocol_prefix><token>" (browsers)
};

// One verification key. HS* keys are a shared secret; the others a public
// key in a PEM file (SPKI or a certificate). A token is checked against the
// key whose kid equals the token's; a token without kid, against the keys
// without kid whose alg equals the token's.
struct JwtKeyConfig {
  std::string kid;
  std::string alg;       // HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 EdDSA: the only alg this key accepts
  std::string secret;    // HS*: the secret's bytes (the config file may name an
                         // environment variable instead: secret_env; resolved at load)
  std::string pem_file;  // RS*, ES*, EdDSA
};

// The JWT verifier's settings (server-wide; reloaded on SIGHUP).
struct AuthConfig {
  std::vector<JwtKeyConfig> keys;
  std::string jwks_file;            // a JWKS document; its keys are selected by kid
  std::string issuer;               // "" = iss not checked
  std::string audience;             // "" = aud not checked
  uint32_t leeway_s = 30;           // clock skew allowed on exp and nbf
  uint32_t max_token_bytes = 8192;  // longer tokens are refused (401) before any parsing
  bool require_exp = true;          // a token without exp is refused
  // Claim names mapped to the connection's identity.
  std::string user_claim = "sub";
  std::string tenant_claim = "tenant_id";
  std::string agent_claim = "agent_id";
  std::string channels_claim = "channels";  // array of names or "prefix*" patterns; absent = any channel
};

// The server HTTP API for application backends (a separate listener).
struct ApiConfig {
  bool enabled = true;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 9090;          // 0 = pick a free port (printed at start)
  std::vector<std::string> keys;        // accepted "Authorization: Bearer" keys (the file's `keys` plus
                                        // the one in the environment variable `key_env`); none = every call is 401
  uint32_t max_body_bytes = 1u << 20;   // over -> 413
  uint16_t close_code = 1000;           // DELETE /api/v1/connections/{id} closes with this code
};

struct EndpointConfig {
  // Exact match against the request path, or a template whose segments may
  // be {tenant_id}, {agent_id} or {channel_id}: matched against the token,
  // and {channel_id} joins that channel (seed 003).
  std::string path;
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

  // Authentication (docs/PROTOCOLS.md, "Authentication").
  AuthMode auth = AuthMode::none;
  uint8_t token_sources = kTokenQuery | kTokenHeader | kTokenProtocol;
  std::string token_param = "token";
  std::string token_protocol_prefix = "bearer.";  // Sec-WebSocket-Protocol: bearer.<token>
  // Lifecycle hooks (like API Gateway's $connect/$disconnect): an upstream
  // asked before the 101 (non-2xx -> 403) and told when the connection ends.
  std::string connect_upstream;
  std::string disconnect_upstream;
  uint32_t hook_timeout_ms = 5000;
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
  AuthConfig auth;
  ApiConfig api;
  // secret_env variables that were unset when the file was read: their keys
  // are left out (the embedded default config runs without its secret).
  std::vector<std::string> unset_secret_envs;
};

}  // namespace ringcast
