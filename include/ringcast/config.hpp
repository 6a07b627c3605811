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
};

struct EndpointConfig {
  std::string path;                     // exact match against the request path
  Protocol protocol = Protocol::echo;
  std::vector<std::string> subprotocols;  // accepted Sec-WebSocket-Protocol values
  uint64_t max_message_bytes = 16u << 20;  // over -> close 1009
  uint32_t idle_ping_ms = 30000;        // ping after this much receive silence; 0 = never
  uint32_t pong_timeout_ms = 10000;     // no frame within this after a ping -> close 1001
  uint64_t max_output_bytes = 1u << 20; // queued output above this pauses reading
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
};

struct Config {
  ServerConfig server;
  std::vector<EndpointConfig> endpoints;
};

}  // namespace ringcast
