#include "app/config_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>

#include "app/default_config.hpp"
#include "protocol/endpoints.hpp"

namespace ringcast::app {
namespace {

constexpr const char* kSource = "test.toml";
constexpr const char* kOneEndpoint = "\n[[endpoint]]\npath = \"/e\"\n";

std::string parse(const std::string& text, Config& out) { return parse_config(text, kSource, out); }

// The error for `text`, which must fail and leave `out` alone.
std::string error_of(const std::string& text) {
  Config cfg;
  cfg.server.threads = 77;  // a marker: a failed parse must not touch it
  const std::string err = parse(text, cfg);
  EXPECT_FALSE(err.empty()) << "expected an error for:\n" << text;
  EXPECT_EQ(cfg.server.threads, 77u) << "a failed parse changed the output";
  EXPECT_TRUE(cfg.endpoints.empty());
  return err;
}

std::string server_error(const std::string& line) { return error_of("[server]\n" + line + "\n" + kOneEndpoint); }
std::string endpoint_error(const std::string& line) {
  return error_of("[[endpoint]]\npath = \"/e\"\n" + line + "\n");
}

// --- The embedded default -------------------------------------------------

TEST(DefaultConfig, ParsesToTheDocumentedDefaults) {
  Config cfg;
  ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
  const ServerConfig& s = cfg.server;
  EXPECT_EQ(s.listen_host, "0.0.0.0");
  EXPECT_EQ(s.listen_port, 8080);
  EXPECT_EQ(s.threads, 0u);
  EXPECT_TRUE(s.pin_threads);
  EXPECT_EQ(s.max_connections, 0u);  // automatic: the open-files limit
  EXPECT_EQ(s.max_request_head_bytes, 8192u);
  EXPECT_EQ(s.handshake_timeout_ms, 10000u);
  EXPECT_EQ(s.close_timeout_ms, 2000u);
  EXPECT_EQ(s.shutdown_timeout_ms, 5000u);
  EXPECT_EQ(s.recv_buffers, 2048u);
  EXPECT_EQ(s.recv_buffer_bytes, 16384u);
  EXPECT_EQ(s.shutdown_reason, "server_shutdown");
  EXPECT_EQ(s.reconnect_delay_ms, 5000u);
  EXPECT_EQ(s.mesh_queue_depth, 4096u);

  ASSERT_EQ(cfg.endpoints.size(), 5u);
  const EndpointConfig& echo = cfg.endpoints[0];
  EXPECT_EQ(echo.path, "/echo");
  EXPECT_EQ(echo.protocol, Protocol::echo);
  EXPECT_TRUE(echo.subprotocols.empty());
  EXPECT_EQ(echo.max_message_bytes, 16777216u);
  EXPECT_EQ(echo.idle_ping_ms, 30000u);
  EXPECT_EQ(echo.pong_timeout_ms, 10000u);
  EXPECT_EQ(echo.max_output_bytes, 1048576u);

  const EndpointConfig& json = cfg.endpoints[1];
  EXPECT_EQ(json.path, "/ws/");
  EXPECT_EQ(json.protocol, Protocol::json_echo);
  // Keys left out take the values shown for /echo.
  EXPECT_TRUE(json.subprotocols.empty());
  EXPECT_EQ(json.max_message_bytes, echo.max_message_bytes);
  EXPECT_EQ(json.idle_ping_ms, echo.idle_ping_ms);
  EXPECT_EQ(json.pong_timeout_ms, echo.pong_timeout_ms);
  EXPECT_EQ(json.max_output_bytes, echo.max_output_bytes);

  // The seeds' routed endpoints (docs/PROTOCOLS.md).
  const EndpointConfig& env = cfg.endpoints[2];
  EXPECT_EQ(env.path, "/api/v1/ws");
  EXPECT_EQ(env.protocol, Protocol::envelope);
  EXPECT_EQ(env.route_key, "type");
  EXPECT_EQ(env.max_envelope_bytes, 65536u);
  EXPECT_EQ(env.rate_limit_per_minute, 100u) << "seed 002: 100 messages a minute";
  EXPECT_EQ(env.rate_limit_burst, 0u);
  EXPECT_EQ(env.max_errors, 10u);
  EXPECT_EQ(env.error_window_ms, 60000u);
  EXPECT_EQ(env.max_subscriptions, 256u);
  EXPECT_EQ(env.slow_consumer, SlowConsumerPolicy::close);
  const EndpointConfig& room = cfg.endpoints[3];
  EXPECT_EQ(room.path, "/v1/ws");
  EXPECT_EQ(room.protocol, Protocol::channel);
  EXPECT_EQ(room.channel_param, "channel_id");
  const EndpointConfig& act = cfg.endpoints[4];
  EXPECT_EQ(act.path, "/v1");
  EXPECT_EQ(act.protocol, Protocol::action);
  ASSERT_EQ(act.routes.size(), 1u);
  EXPECT_EQ(act.routes[0].name, "message");
  EXPECT_EQ(act.routes[0].handler, "echo");
  EXPECT_EQ(act.routes[0].required, (std::vector<std::string>{"interview_id:string", "message:string"}));
}

TEST(DefaultConfig, AgreesWithTheStructDefaults) {
  // The file documents the defaults; the structs carry them. Both must agree,
  // so an omitted key means what the default file says.
  Config cfg;
  ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
  const ServerConfig d;
  EXPECT_EQ(cfg.server.listen_host, d.listen_host);
  EXPECT_EQ(cfg.server.listen_port, d.listen_port);
  EXPECT_EQ(cfg.server.threads, d.threads);
  EXPECT_EQ(cfg.server.pin_threads, d.pin_threads);
  EXPECT_EQ(cfg.server.max_connections, d.max_connections);
  EXPECT_EQ(cfg.server.max_request_head_bytes, d.max_request_head_bytes);
  EXPECT_EQ(cfg.server.handshake_timeout_ms, d.handshake_timeout_ms);
  EXPECT_EQ(cfg.server.close_timeout_ms, d.close_timeout_ms);
  EXPECT_EQ(cfg.server.shutdown_timeout_ms, d.shutdown_timeout_ms);
  EXPECT_EQ(cfg.server.recv_buffers, d.recv_buffers);
  EXPECT_EQ(cfg.server.recv_buffer_bytes, d.recv_buffer_bytes);
  EXPECT_EQ(cfg.server.shutdown_reason, d.shutdown_reason);
  EXPECT_EQ(cfg.server.reconnect_delay_ms, d.reconnect_delay_ms);
  EXPECT_EQ(cfg.server.mesh_queue_depth, d.mesh_queue_depth);
  const EndpointConfig e;
  EXPECT_EQ(cfg.endpoints[2].max_envelope_bytes, e.max_envelope_bytes);
  EXPECT_EQ(cfg.endpoints[2].max_errors, e.max_errors);
  EXPECT_EQ(cfg.endpoints[2].error_window_ms, e.error_window_ms);
  EXPECT_EQ(cfg.endpoints[2].max_subscriptions, e.max_subscriptions);
  EXPECT_EQ(cfg.endpoints[2].slow_consumer, e.slow_consumer);
  EXPECT_EQ(cfg.endpoints[3].channel_param, e.channel_param);
  EXPECT_EQ(cfg.endpoints[0].protocol, e.protocol);
  EXPECT_EQ(cfg.endpoints[0].max_message_bytes, e.max_message_bytes);
  EXPECT_EQ(cfg.endpoints[0].idle_ping_ms, e.idle_ping_ms);
  EXPECT_EQ(cfg.endpoints[0].pong_timeout_ms, e.pong_timeout_ms);
  EXPECT_EQ(cfg.endpoints[0].max_output_bytes, e.max_output_bytes);
}

TEST(DefaultConfig, ResolvesIntoAnEndpointTable) {
  Config cfg;
  ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
  const protocol::EndpointTable table(cfg.endpoints);
  ASSERT_EQ(table.size(), 5u);
  EXPECT_EQ(table.find("/echo"), 0);
  EXPECT_EQ(table.find("/ws/"), 1);
  EXPECT_EQ(table[1].config.protocol, Protocol::json_echo);
  EXPECT_EQ(table[0].parser.max_message_bytes, cfg.endpoints[0].max_message_bytes);
  EXPECT_TRUE(table[0].parser.expect_masked) << "a server expects masked client frames";
  // Exact match only.
  EXPECT_EQ(table.find("/ws"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/echo/"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/ECHO"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/healthz"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find(""), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/"), protocol::EndpointTable::kNotFound);
}

// --- Valid files ------------------------------------------------------------

TEST(ConfigFile, EveryKeySet) {
  Config cfg;
  const std::string text = R"(
[server]
listen = "127.0.0.1:9001"
threads = 4
pin_threads = false
max_connections = 100
max_request_head_bytes = 1024
handshake_timeout_ms = 500
close_timeout_ms = 300
shutdown_timeout_ms = 0
recv_buffers = 1
recv_buffer_bytes = 4096

[[endpoint]]
path = "/"
protocol = "json-echo"
subprotocols = ["chat", "superchat"]
max_message_bytes = 0
idle_ping_ms = 0
pong_timeout_ms = 10
max_output_bytes = 4096
)";
  ASSERT_EQ(parse(text, cfg), "");
  EXPECT_EQ(cfg.server.listen_host, "127.0.0.1");
  EXPECT_EQ(cfg.server.listen_port, 9001);
  EXPECT_EQ(cfg.server.threads, 4u);
  EXPECT_FALSE(cfg.server.pin_threads);
  EXPECT_EQ(cfg.server.max_connections, 100u);
  EXPECT_EQ(cfg.server.max_request_head_bytes, 1024u);
  EXPECT_EQ(cfg.server.handshake_timeout_ms, 500u);
  EXPECT_EQ(cfg.server.close_timeout_ms, 300u);
  EXPECT_EQ(cfg.server.shutdown_timeout_ms, 0u);
  EXPECT_EQ(cfg.server.recv_buffers, 1u);
  EXPECT_EQ(cfg.server.recv_buffer_bytes, 4096u);
  ASSERT_EQ(cfg.endpoints.size(), 1u);
  const EndpointConfig& e = cfg.endpoints[0];
  EXPECT_EQ(e.path, "/");
  EXPECT_EQ(e.protocol, Protocol::json_echo);
  EXPECT_EQ(e.subprotocols, (std::vector<std::string>{"chat", "superchat"}));
  EXPECT_EQ(e.max_message_bytes, 0u);
  EXPECT_EQ(e.idle_ping_ms, 0u);
  EXPECT_EQ(e.pong_timeout_ms, 10u);
  EXPECT_EQ(e.max_output_bytes, 4096u);
}

TEST(ConfigFile, OmittedKeysKeepDefaults) {
  Config cfg;
  ASSERT_EQ(parse(kOneEndpoint, cfg), "");
  const Config d;
  EXPECT_EQ(cfg.server.listen_host, d.server.listen_host);
  EXPECT_EQ(cfg.server.listen_port, d.server.listen_port);
  EXPECT_EQ(cfg.server.recv_buffers, d.server.recv_buffers);
  ASSERT_EQ(cfg.endpoints.size(), 1u);
  EXPECT_EQ(cfg.endpoints[0].protocol, Protocol::echo);
  EXPECT_EQ(cfg.endpoints[0].idle_ping_ms, 30000u);
}

TEST(ConfigFile, RangeLimitsAreInclusive) {
  Config cfg;
  ASSERT_EQ(parse("[server]\nthreads = 64\nrecv_buffers = 32768\nmax_connections = 1048576\n" +
                      std::string(kOneEndpoint),
                  cfg),
            "");
  EXPECT_EQ(cfg.server.threads, 64u);
  EXPECT_EQ(cfg.server.recv_buffers, 32768u);
  EXPECT_EQ(cfg.server.max_connections, 1u << 20);
  ASSERT_EQ(parse("[[endpoint]]\npath = \"/e\"\nmax_message_bytes = 2147483648\nmax_output_bytes = 4294967296\n",
                  cfg),
            "");
  EXPECT_EQ(cfg.endpoints[0].max_message_bytes, uint64_t(1) << 31);
  EXPECT_EQ(cfg.endpoints[0].max_output_bytes, uint64_t(1) << 32);
}

TEST(ConfigFile, PowerOfTwoReceiveBuffers) {
  for (int n : {1, 2, 4, 1024, 2048, 32768}) {
    Config cfg;
    EXPECT_EQ(parse("[server]\nrecv_buffers = " + std::to_string(n) + "\n" + kOneEndpoint, cfg), "") << n;
    EXPECT_EQ(cfg.server.recv_buffers, uint32_t(n));
  }
  for (int n : {3, 6, 1000, 2047, 2049, 32767}) {
    EXPECT_EQ(server_error("recv_buffers = " + std::to_string(n)),
              "test.toml: server.recv_buffers: must be a power of two")
        << n;
  }
  EXPECT_EQ(server_error("recv_buffers = 0"), "test.toml: server.recv_buffers: must be between 1 and 32768, got 0");
  EXPECT_EQ(server_error("recv_buffers = 65536"),
            "test.toml: server.recv_buffers: must be between 1 and 32768, got 65536");
}

TEST(ConfigFile, ManyEndpointsKeepTheirOrder) {
  Config cfg;
  ASSERT_EQ(parse("[[endpoint]]\npath = \"/a\"\n[[endpoint]]\npath = \"/b\"\nprotocol = \"json-echo\"\n"
                  "[[endpoint]]\npath = \"/c\"\n",
                  cfg),
            "");
  ASSERT_EQ(cfg.endpoints.size(), 3u);
  EXPECT_EQ(cfg.endpoints[0].path, "/a");
  EXPECT_EQ(cfg.endpoints[1].path, "/b");
  EXPECT_EQ(cfg.endpoints[1].protocol, Protocol::json_echo);
  EXPECT_EQ(cfg.endpoints[2].path, "/c");
  const protocol::EndpointTable table(cfg.endpoints);
  EXPECT_EQ(table.find("/c"), 2);
}

// --- Errors name the key ------------------------------------------------------

TEST(ConfigFile, ServerKeyTypeErrors) {
  EXPECT_EQ(server_error("listen = 8080"), "test.toml: server.listen: expected a string");
  EXPECT_EQ(server_error("threads = \"4\""), "test.toml: server.threads: expected an integer");
  EXPECT_EQ(server_error("threads = 4.0"), "test.toml: server.threads: expected an integer");
  EXPECT_EQ(server_error("pin_threads = 1"), "test.toml: server.pin_threads: expected true or false");
  EXPECT_EQ(server_error("pin_threads = \"yes\""), "test.toml: server.pin_threads: expected true or false");
  for (const char* key : {"max_connections", "max_request_head_bytes", "handshake_timeout_ms", "close_timeout_ms",
                          "shutdown_timeout_ms", "recv_buffers", "recv_buffer_bytes"}) {
    EXPECT_EQ(server_error(std::string(key) + " = true"),
              std::string("test.toml: server.") + key + ": expected an integer");
    EXPECT_EQ(server_error(std::string(key) + " = [1]"),
              std::string("test.toml: server.") + key + ": expected an integer");
  }
}

TEST(ConfigFile, ServerRangeErrors) {
  EXPECT_EQ(server_error("threads = 65"), "test.toml: server.threads: must be between 0 and 64, got 65");
  EXPECT_EQ(server_error("threads = -1"), "test.toml: server.threads: must be between 0 and 64, got -1");
  EXPECT_EQ(server_error("max_connections = -1"),
            "test.toml: server.max_connections: must be between 0 and 1048576, got -1");
  EXPECT_EQ(server_error("max_request_head_bytes = 511"),
            "test.toml: server.max_request_head_bytes: must be between 512 and 1048576, got 511");
  EXPECT_EQ(server_error("handshake_timeout_ms = 9"),
            "test.toml: server.handshake_timeout_ms: must be between 10 and 3600000, got 9");
  EXPECT_EQ(server_error("close_timeout_ms = 600001"),
            "test.toml: server.close_timeout_ms: must be between 10 and 600000, got 600001");
  EXPECT_EQ(server_error("shutdown_timeout_ms = -5"),
            "test.toml: server.shutdown_timeout_ms: must be between 0 and 3600000, got -5");
  EXPECT_EQ(server_error("recv_buffer_bytes = 1023"),
            "test.toml: server.recv_buffer_bytes: must be between 1024 and 1048576, got 1023");
  // Far outside uint32: no wrap-around into range.
  EXPECT_EQ(server_error("threads = 4294967297"),
            "test.toml: server.threads: must be between 0 and 64, got 4294967297");
}

TEST(ConfigFile, ServerListenErrors) {
  EXPECT_EQ(server_error("listen = \"localhost\""), "test.toml: server.listen: expected host:port");
  EXPECT_EQ(server_error("listen = \"localhost:99999\""),
            "test.toml: server.listen: port must be a number from 0 to 65535");
  EXPECT_EQ(server_error("listen = \":80\""), "test.toml: server.listen: missing host");
}

TEST(ConfigFile, UnknownKeys) {
  EXPECT_EQ(server_error("bogus = 1"), "test.toml: server.bogus: unknown key");
  EXPECT_EQ(server_error("Threads = 1"), "test.toml: server.Threads: unknown key") << "keys are case-sensitive";
  EXPECT_EQ(endpoint_error("bogus = 1"), "test.toml: endpoint[0].bogus: unknown key");
  EXPECT_EQ(error_of("bogus = 1\n" + std::string(kOneEndpoint)), "test.toml: bogus: unknown key");
  EXPECT_EQ(error_of("[servers]\nthreads = 1\n" + std::string(kOneEndpoint)), "test.toml: servers: unknown key");
  // The index names the endpoint at fault.
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint]]\npath = \"/b\"\nbogus = true\n"),
            "test.toml: endpoint[1].bogus: unknown key");
}

TEST(ConfigFile, EndpointKeyTypeErrors) {
  EXPECT_EQ(error_of("[[endpoint]]\npath = 5\n"), "test.toml: endpoint[0].path: expected a string");
  EXPECT_EQ(endpoint_error("protocol = 1"), "test.toml: endpoint[0].protocol: expected a string");
  EXPECT_EQ(endpoint_error("subprotocols = \"chat\""),
            "test.toml: endpoint[0].subprotocols: expected an array of strings");
  EXPECT_EQ(endpoint_error("subprotocols = [1]"),
            "test.toml: endpoint[0].subprotocols: expected non-empty strings of at most 64 bytes");
  EXPECT_EQ(endpoint_error("subprotocols = [\"\"]"),
            "test.toml: endpoint[0].subprotocols: expected non-empty strings of at most 64 bytes");
  EXPECT_EQ(endpoint_error("subprotocols = [\"" + std::string(65, 'p') + "\"]"),
            "test.toml: endpoint[0].subprotocols: expected non-empty strings of at most 64 bytes");
  for (const char* key : {"max_message_bytes", "idle_ping_ms", "pong_timeout_ms", "max_output_bytes"}) {
    EXPECT_EQ(endpoint_error(std::string(key) + " = \"1\""),
              std::string("test.toml: endpoint[0].") + key + ": expected an integer");
  }
  Config cfg;
  ASSERT_EQ(parse("[[endpoint]]\npath = \"/e\"\nsubprotocols = [\"" + std::string(64, 'p') + "\"]\n", cfg), "");
  EXPECT_EQ(cfg.endpoints[0].subprotocols.at(0).size(), 64u);
}

TEST(ConfigFile, EndpointRangeErrors) {
  EXPECT_EQ(endpoint_error("max_message_bytes = 2147483649"),
            "test.toml: endpoint[0].max_message_bytes: must be between 0 and 2147483648, got 2147483649");
  EXPECT_EQ(endpoint_error("idle_ping_ms = -1"),
            "test.toml: endpoint[0].idle_ping_ms: must be between 0 and 3600000, got -1");
  EXPECT_EQ(endpoint_error("pong_timeout_ms = 0"),
            "test.toml: endpoint[0].pong_timeout_ms: must be between 10 and 3600000, got 0");
  EXPECT_EQ(endpoint_error("max_output_bytes = 4095"),
            "test.toml: endpoint[0].max_output_bytes: must be between 4096 and 4294967296, got 4095");
}

TEST(ConfigFile, UnknownProtocol) {
  EXPECT_EQ(endpoint_error("protocol = \"chat\""),
            "test.toml: endpoint[0].protocol: unknown protocol \"chat\" (expected \"echo\", \"json-echo\", "
            "\"envelope\", \"channel\" or \"action\")");
}

TEST(ConfigFile, RoutedEndpointKeys) {
  Config cfg;
  ASSERT_EQ(parse(R"([[endpoint]]
path = "/bot"
protocol = "action"
route_key = "op"
max_envelope_bytes = 1024
rate_limit_per_minute = 600
rate_limit_burst = 20
max_errors = 3
error_window_ms = 1000
max_subscriptions = 8
slow_consumer = "drop"

[[endpoint.route]]
name = "ask"
handler = "echo"
required = ["question", "data.id"]

[[endpoint.route]]
name = "join"
handler = "subscribe"
)",
                  cfg),
            "");
  const EndpointConfig& e = cfg.endpoints[0];
  EXPECT_EQ(e.protocol, Protocol::action);
  EXPECT_EQ(e.route_key, "op");
  EXPECT_EQ(e.max_envelope_bytes, 1024u);
  EXPECT_EQ(e.rate_limit_per_minute, 600u);
  EXPECT_EQ(e.rate_limit_burst, 20u);
  EXPECT_EQ(e.max_errors, 3u);
  EXPECT_EQ(e.error_window_ms, 1000u);
  EXPECT_EQ(e.max_subscriptions, 8u);
  EXPECT_EQ(e.slow_consumer, SlowConsumerPolicy::drop);
  ASSERT_EQ(e.routes.size(), 2u);
  EXPECT_EQ(e.routes[0].name, "ask");
  EXPECT_EQ(e.routes[0].required, (std::vector<std::string>{"question", "data.id"}));
  EXPECT_EQ(e.routes[1].handler, "subscribe");
  EXPECT_TRUE(e.routes[1].required.empty());
}

TEST(ConfigFile, RoutedEndpointErrors) {
  EXPECT_EQ(endpoint_error("slow_consumer = \"block\""),
            "test.toml: endpoint[0].slow_consumer: expected \"close\" or \"drop\"");
  EXPECT_EQ(endpoint_error("route_key = \"a b\""),
            "test.toml: endpoint[0].route_key: expected 1 to 64 of A-Z a-z 0-9 _ - .");
  EXPECT_EQ(endpoint_error("max_errors = 0"), "test.toml: endpoint[0].max_errors: must be between 1 and 1000000, got 0");
  EXPECT_EQ(endpoint_error("route = 1"), "test.toml: endpoint[0].route: expected [[endpoint.route]] tables");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint.route]]\nhandler = \"echo\"\n"),
            "test.toml: endpoint[0].route[0].name: expected 1 to 64 bytes");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint.route]]\nname = \"x\"\n"),
            "test.toml: endpoint[0].route[0].handler: missing");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint.route]]\nname = \"x\"\nhandler = \"echo\"\nwhen = 1\n"),
            "test.toml: endpoint[0].route[0].when: unknown key");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint.route]]\nname = \"x\"\nhandler = \"echo\"\n"
                     "required = [\"id:text\"]\n"),
            "test.toml: endpoint[0].route[0].required: \"id:text\": the kind after ':' must be string, number, "
            "boolean, object or array");
  EXPECT_EQ(server_error("mesh_queue_depth = 1000"), "test.toml: server.mesh_queue_depth: must be a power of two");
  EXPECT_EQ(server_error("shutdown_reason = \"\""),
            "test.toml: server.shutdown_reason: expected 1 to 64 of A-Z a-z 0-9 _ - .");
}

TEST(ConfigFile, PathRules) {
  EXPECT_EQ(error_of("[[endpoint]]\nprotocol = \"echo\"\n"), "test.toml: endpoint[0].path: missing");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint]]\n"), "test.toml: endpoint[1].path: missing");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"\"\n"), "test.toml: endpoint[0].path: must start with '/'");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"echo\"\n"), "test.toml: endpoint[0].path: must start with '/'");
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/healthz\"\n"),
            "test.toml: endpoint[0].path: /healthz is reserved for the health check");
}

TEST(ConfigFile, DuplicatePath) {
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/echo\"\n[[endpoint]]\npath = \"/ws/\"\n[[endpoint]]\npath = "
                     "\"/echo\"\nprotocol = \"json-echo\"\n"),
            "test.toml: endpoint[2].path: duplicate path /echo");
  // Paths differing only by a trailing slash are different endpoints.
  Config cfg;
  EXPECT_EQ(parse("[[endpoint]]\npath = \"/ws\"\n[[endpoint]]\npath = \"/ws/\"\n", cfg), "");
}

TEST(ConfigFile, ShapeErrors) {
  EXPECT_EQ(error_of("server = 5\n" + std::string(kOneEndpoint)), "test.toml: server: expected a table");
  EXPECT_EQ(error_of("endpoint = 5\n"), "test.toml: endpoint: expected [[endpoint]] tables");
  EXPECT_EQ(error_of("endpoint = [1]\n"), "test.toml: endpoint[0]: expected a table");
  EXPECT_EQ(error_of("[endpoint]\npath = \"/e\"\n"), "test.toml: endpoint: expected [[endpoint]] tables");
}

TEST(ConfigFile, AtLeastOneEndpoint) {
  const std::string expected = "test.toml: endpoint: at least one [[endpoint]] is required";
  EXPECT_EQ(error_of(""), expected);
  EXPECT_EQ(error_of("[server]\nthreads = 2\n"), expected);
  EXPECT_EQ(error_of("endpoint = []\n"), expected);
}

TEST(ConfigFile, TomlSyntaxErrorReportsLineAndColumn) {
  const std::string err = error_of("[server]\nthreads = 2\nlisten = = \"x\"\n");
  const std::regex shape(R"(test\.toml:3:(\d+): .+)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(err, m, shape)) << err;
  const int column = std::stoi(m[1].str());
  EXPECT_GE(column, 8) << err;  // at or after "listen ="
  EXPECT_LE(column, 10) << err;

  const std::string unterminated = error_of("[[endpoint]]\npath = \"/e\n");
  EXPECT_TRUE(std::regex_match(unterminated, std::regex(R"(test\.toml:2:\d+: .+)"))) << unterminated;

  const std::string dup = error_of("[server]\nthreads = 1\nthreads = 2\n" + std::string(kOneEndpoint));
  EXPECT_TRUE(std::regex_match(dup, std::regex(R"(test\.toml:3:\d+: .*threads.*)"))) << dup;
}

TEST(ConfigFile, SourceNameIsThePrefix) {
  Config cfg;
  EXPECT_EQ(parse_config("[server]\nbogus = 1\n", "/etc/ringcast.toml", cfg),
            "/etc/ringcast.toml: server.bogus: unknown key");
}

TEST(ConfigFile, LoadFile) {
  char path[] = "/tmp/ringcast_config_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream f(path);
    f << "[server]\nthreads = 3\n[[endpoint]]\npath = \"/x\"\n";
  }
  Config cfg;
  EXPECT_EQ(load_config_file(path, cfg), "");
  EXPECT_EQ(cfg.server.threads, 3u);
  ASSERT_EQ(cfg.endpoints.size(), 1u);
  EXPECT_EQ(cfg.endpoints[0].path, "/x");
  {
    std::ofstream f(path);
    f << "[server]\nthreads = 300\n[[endpoint]]\npath = \"/x\"\n";
  }
  EXPECT_EQ(load_config_file(path, cfg), std::string(path) + ": server.threads: must be between 0 and 64, got 300");
  std::remove(path);
  EXPECT_EQ(load_config_file(path, cfg), std::string(path) + ": cannot read the file");
}

// --- parse_listen --------------------------------------------------------------

ServerConfig listen_ok(std::string_view value) {
  ServerConfig s;
  EXPECT_EQ(parse_listen(value, s), "") << value;
  return s;
}

std::string listen_error(std::string_view value) {
  ServerConfig s;
  s.listen_host = "unchanged";
  s.listen_port = 1234;
  const std::string err = parse_listen(value, s);
  EXPECT_EQ(s.listen_host, "unchanged") << value;
  EXPECT_EQ(s.listen_port, 1234) << value;
  return err;
}

TEST(ParseListen, Ipv4) {
  const ServerConfig s = listen_ok("0.0.0.0:8080");
  EXPECT_EQ(s.listen_host, "0.0.0.0");
  EXPECT_EQ(s.listen_port, 8080);
}

TEST(ParseListen, Ipv6InBrackets) {
  ServerConfig s = listen_ok("[::1]:9000");
  EXPECT_EQ(s.listen_host, "::1");
  EXPECT_EQ(s.listen_port, 9000);
  s = listen_ok("[::]:443");
  EXPECT_EQ(s.listen_host, "::");
  EXPECT_EQ(s.listen_port, 443);
  s = listen_ok("[fe80::1%eth0]:1");
  EXPECT_EQ(s.listen_host, "fe80::1%eth0");
  EXPECT_EQ(s.listen_port, 1);
}

TEST(ParseListen, HostNameAndPortZero) {
  ServerConfig s = listen_ok("host:0");
  EXPECT_EQ(s.listen_host, "host");
  EXPECT_EQ(s.listen_port, 0);
  s = listen_ok("localhost:65535");
  EXPECT_EQ(s.listen_host, "localhost");
  EXPECT_EQ(s.listen_port, 65535);
}

TEST(ParseListen, BadPorts) {
  const std::string bad = "port must be a number from 0 to 65535";
  EXPECT_EQ(listen_error("host:65536"), bad);
  EXPECT_EQ(listen_error("host:99999999999999999999"), bad);
  EXPECT_EQ(listen_error("host:"), bad);
  EXPECT_EQ(listen_error("host:-1"), bad);
  EXPECT_EQ(listen_error("host:+80"), bad);
  EXPECT_EQ(listen_error("host:80x"), bad);
  EXPECT_EQ(listen_error("host: 80"), bad);
  EXPECT_EQ(listen_error("host:http"), bad);
  EXPECT_EQ(listen_error("[::1]:"), bad);
  EXPECT_EQ(listen_error("[::1]:70000"), bad);
}

TEST(ParseListen, BadShapes) {
  EXPECT_EQ(listen_error(""), "expected host:port");
  EXPECT_EQ(listen_error("8080"), "expected host:port");
  EXPECT_EQ(listen_error("localhost"), "expected host:port");
  EXPECT_EQ(listen_error(":8080"), "missing host");
  EXPECT_EQ(listen_error("[::1]"), "expected [ipv6]:port");
  EXPECT_EQ(listen_error("[::1]8080"), "expected [ipv6]:port");
  EXPECT_EQ(listen_error("[::1"), "expected [ipv6]:port");
  EXPECT_EQ(listen_error("[]:80"), "missing host");
}

}  // namespace
}  // namespace ringcast::app
