// The configuration ringcast runs with when no --config is given. It is also
// the reference for the file format: `ringcast --print-config` prints it.
#pragma once

#include <string_view>

namespace ringcast::app {

inline constexpr std::string_view kDefaultConfig = R"toml(# ringcast configuration (TOML). Every key has the default shown here; a file
# needs at least one [[endpoint]].

[server]
listen = "0.0.0.0:8080"        # host:port; port 0 picks a free port (printed at start)
threads = 0                    # reactors; 0 = one per online core
pin_threads = true             # reactor i runs on core i
max_connections = 0            # per reactor; 0 = as many as the open-files limit allows
max_request_head_bytes = 8192  # a longer request head gets 431
handshake_timeout_ms = 10000   # the HTTP phase must finish by then (slowloris guard)
close_timeout_ms = 2000        # after our close frame, wait this long for the peer
shutdown_timeout_ms = 5000     # graceful stop deadline (SIGINT/SIGTERM)
recv_buffers = 2048            # receive buffers per reactor at most (power of two); fewer are in use when traffic is light
recv_buffer_bytes = 16384      # size of each receive buffer
shutdown_reason = "server_shutdown"  # the `disconnecting` notice before close 1001
reconnect_delay_ms = 5000      #   (routed endpoints: envelope, channel, action)
mesh_queue_depth = 4096        # messages per reactor-to-reactor queue (power of two)

# JWT verification for endpoints with auth = "jwt" (docs/PROTOCOLS.md,
# "Authentication"). SIGHUP reloads this section. Keys: [[auth.key]] tables
# (kid, alg, and secret / secret_env for HS*, pem_file for RS*/ES*/EdDSA)
# and/or a JWKS file whose keys are chosen by the token's kid.
[auth]
jwks_file = ""                 # "" = none
issuer = ""                    # required `iss`; "" = not checked
audience = ""                  # required `aud`; "" = not checked
leeway_s = 30                  # clock skew allowed on exp and nbf
max_token_bytes = 8192         # a longer token is refused (401)
require_exp = true             # a token without exp is refused
user_claim = "sub"             # claims that make the connection's identity
tenant_claim = "tenant_id"     #   channels, presence and direct messages are per tenant
agent_claim = "agent_id"
channels_claim = "channels"    # allowed channels: names or "prefix*"; absent = any

[[auth.key]]
alg = "HS256"
secret_env = "RINGCAST_JWT_SECRET"  # the shared secret; unset = no key (JWT endpoints answer 401)

# The server API for application backends: publish, connection management,
# /metrics, /healthz, /readyz (docs/API.md). Bearer keys below; none = every
# call but the health checks is refused.
[api]
enabled = true
listen = "127.0.0.1:9090"
keys = []                      # accepted "Authorization: Bearer" keys (8 to 256 bytes each)
key_env = "RINGCAST_API_KEY"   # one more key from this environment variable (unset = none)
max_body_bytes = 1048576       # a longer request body gets 413
close_code = 1000              # DELETE /api/v1/connections/{id} closes with this

# Raw echo: every message back whole, same opcode. For conformance suites and
# benchmarks; change the path to "/" for tools that only request "/".
[[endpoint]]
path = "/echo"
protocol = "echo"
subprotocols = []              # accepted Sec-WebSocket-Protocol values
max_message_bytes = 16777216   # a bigger message is closed with 1009
idle_ping_ms = 30000           # ping after this much silence; 0 = never
pong_timeout_ms = 10000        # no frame within this after a ping: close 1001
max_output_bytes = 1048576     # queued output above this pauses reading

# Seed 001: the JSON echo API ({"type":"echo","message":"Server received: ..."}).
[[endpoint]]
path = "/ws/"
protocol = "json-echo"

# Seed 002: {type,data,request_id} envelopes; subscribe, unsubscribe, ping,
# publish, echo; 100 messages a minute per connection. docs/PROTOCOLS.md has
# every message; the keys below exist on every routed endpoint.
[[endpoint]]
path = "/api/v1/ws"
protocol = "envelope"
auth = "jwt"                   # "jwt" or "none"
token_sources = ["query", "header", "protocol"]  # ?token=, Authorization: Bearer, Sec-WebSocket-Protocol
token_param = "token"
token_protocol_prefix = "bearer."  # the Sec-WebSocket-Protocol entry "bearer.<token>"
route_key = "type"             # the field messages are routed by
max_envelope_bytes = 65536     # a longer JSON message gets MESSAGE_TOO_LARGE
rate_limit_per_minute = 100    # client messages per connection; 0 = unlimited
rate_limit_burst = 0           # bucket size; 0 = rate_limit_per_minute
max_errors = 10                # error replies within error_window_ms before close 1008
error_window_ms = 60000
max_subscriptions = 256        # channels per connection
slow_consumer = "close"        # or "drop" (drop and report MESSAGES_DROPPED)

# Seed 003: /v1/ws?channel_id=ROOM joins ROOM; {"id","type":"message",...} goes
# to the others in the room, the sender gets ACK.
[[endpoint]]
path = "/v1/ws"
protocol = "channel"
auth = "jwt"
channel_param = "channel_id"   # &presence=true adds join/leave events of the room

# Seed 003's channel-bound form: the path's tenant and agent must be the
# token's; the connection joins the channel.
[[endpoint]]
path = "/v1/ws/tenant/{tenant_id}/agent/{agent_id}/channel/{channel_id}"
protocol = "channel"
auth = "jwt"

# Seeds 000 and 004: routed by `action`; seed 004's interview bot route
# (`echo` answers with the request's fields until a backend is configured).
[[endpoint]]
path = "/v1"
protocol = "action"
auth = "jwt"

[[endpoint.route]]
name = "message"
handler = "echo"
required = ["interview_id:string", "message:string"]  # "field" or "field:kind"
)toml";

}  // namespace ringcast::app
