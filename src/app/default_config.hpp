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
recv_buffers = 2048            # provided receive buffers per reactor (power of two)
recv_buffer_bytes = 16384      # size of each receive buffer

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
)toml";

}  // namespace ringcast::app
