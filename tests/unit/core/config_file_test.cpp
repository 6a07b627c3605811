#include "app/config_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
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

// Sets (value) or unsets (nullptr) an environment variable for one scope,
// then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::string(old);
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_.c_str(), old_->c_str(), 1);
    else unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// The embedded default with neither of the environment variables it reads.
struct DefaultEnv {
  ScopedEnv jwt{"RINGCAST_JWT_SECRET", nullptr};
  ScopedEnv api{"RINGCAST_API_KEY", nullptr};
};

// --- The embedded default -------------------------------------------------

TEST(DefaultConfig, ParsesToTheDocumentedDefaults) {
  const DefaultEnv env;
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

  // [auth]: one HS256 key from RINGCAST_JWT_SECRET, which is unset here, so
  // the key is left out and the variable is recorded for the note at start.
  const AuthConfig& a = cfg.auth;
  EXPECT_TRUE(a.keys.empty());
  EXPECT_EQ(cfg.unset_secret_envs, std::vector<std::string>{"RINGCAST_JWT_SECRET"});
  EXPECT_EQ(a.jwks_file, "");
  EXPECT_EQ(a.issuer, "");
  EXPECT_EQ(a.audience, "");
  EXPECT_EQ(a.leeway_s, 30u);
  EXPECT_EQ(a.max_token_bytes, 8192u);
  EXPECT_TRUE(a.require_exp);
  EXPECT_EQ(a.user_claim, "sub");
  EXPECT_EQ(a.tenant_claim, "tenant_id");
  EXPECT_EQ(a.agent_claim, "agent_id");
  EXPECT_EQ(a.channels_claim, "channels");

  // [api]: on, loopback only, no keys (RINGCAST_API_KEY is unset here).
  const ApiConfig& api = cfg.api;
  EXPECT_TRUE(api.enabled);
  EXPECT_EQ(api.listen_host, "127.0.0.1");
  EXPECT_EQ(api.listen_port, 9090);
  EXPECT_TRUE(api.keys.empty());
  EXPECT_EQ(api.max_body_bytes, 1048576u);
  EXPECT_EQ(api.close_code, 1000);

  ASSERT_EQ(cfg.endpoints.size(), 6u);
  const EndpointConfig& echo = cfg.endpoints[0];
  EXPECT_EQ(echo.path, "/echo");
  EXPECT_EQ(echo.protocol, Protocol::echo);
  EXPECT_EQ(echo.auth, AuthMode::none);
  EXPECT_TRUE(echo.subprotocols.empty());
  EXPECT_EQ(echo.max_message_bytes, 16777216u);
  EXPECT_EQ(echo.idle_ping_ms, 30000u);
  EXPECT_EQ(echo.pong_timeout_ms, 10000u);
  EXPECT_EQ(echo.max_output_bytes, 1048576u);

  const EndpointConfig& json = cfg.endpoints[1];
  EXPECT_EQ(json.path, "/ws/");
  EXPECT_EQ(json.protocol, Protocol::json_echo);
  EXPECT_EQ(json.auth, AuthMode::none);
  // Keys left out take the values shown for /echo.
  EXPECT_TRUE(json.subprotocols.empty());
  EXPECT_EQ(json.max_message_bytes, echo.max_message_bytes);
  EXPECT_EQ(json.idle_ping_ms, echo.idle_ping_ms);
  EXPECT_EQ(json.pong_timeout_ms, echo.pong_timeout_ms);
  EXPECT_EQ(json.max_output_bytes, echo.max_output_bytes);

  // The seeds' routed endpoints (docs/PROTOCOLS.md), all behind a JWT.
  const EndpointConfig& env_ep = cfg.endpoints[2];
  EXPECT_EQ(env_ep.path, "/api/v1/ws");
  EXPECT_EQ(env_ep.protocol, Protocol::envelope);
  EXPECT_EQ(env_ep.auth, AuthMode::jwt);
  EXPECT_EQ(env_ep.token_sources, kTokenQuery | kTokenHeader | kTokenProtocol);
  EXPECT_EQ(env_ep.token_param, "token");
  EXPECT_EQ(env_ep.token_protocol_prefix, "bearer.");
  EXPECT_EQ(env_ep.connect_upstream, "");
  EXPECT_EQ(env_ep.disconnect_upstream, "");
  EXPECT_EQ(env_ep.hook_timeout_ms, 5000u);
  EXPECT_EQ(env_ep.route_key, "type");
  EXPECT_EQ(env_ep.max_envelope_bytes, 65536u);
  EXPECT_EQ(env_ep.rate_limit_per_minute, 100u) << "seed 002: 100 messages a minute";
  EXPECT_EQ(env_ep.rate_limit_burst, 0u);
  EXPECT_EQ(env_ep.max_errors, 10u);
  EXPECT_EQ(env_ep.error_window_ms, 60000u);
  EXPECT_EQ(env_ep.max_subscriptions, 256u);
  EXPECT_EQ(env_ep.slow_consumer, SlowConsumerPolicy::close);
  EXPECT_TRUE(env_ep.routes.empty());

  const EndpointConfig& room = cfg.endpoints[3];
  EXPECT_EQ(room.path, "/v1/ws");
  EXPECT_EQ(room.protocol, Protocol::channel);
  EXPECT_EQ(room.auth, AuthMode::jwt);
  EXPECT_EQ(room.channel_param, "channel_id");

  const EndpointConfig& bound = cfg.endpoints[4];
  EXPECT_EQ(bound.path, "/v1/ws/tenant/{tenant_id}/agent/{agent_id}/channel/{channel_id}");
  EXPECT_EQ(bound.protocol, Protocol::channel);
  EXPECT_EQ(bound.auth, AuthMode::jwt);
  EXPECT_EQ(bound.token_sources, kTokenQuery | kTokenHeader | kTokenProtocol);

  const EndpointConfig& act = cfg.endpoints[5];
  EXPECT_EQ(act.path, "/v1");
  EXPECT_EQ(act.protocol, Protocol::action);
  EXPECT_EQ(act.auth, AuthMode::jwt);
  ASSERT_EQ(act.routes.size(), 1u);
  EXPECT_EQ(act.routes[0].name, "message");
  EXPECT_EQ(act.routes[0].handler, "echo");
  EXPECT_EQ(act.routes[0].upstream, "");
  EXPECT_EQ(act.routes[0].required, (std::vector<std::string>{"interview_id:string", "message:string"}));
}

TEST(DefaultConfig, JwtSecretFromTheEnvironment) {
  {
    const DefaultEnv env;
    const ScopedEnv secret("RINGCAST_JWT_SECRET", "a-shared-secret-of-some-length");
    Config cfg;
    ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
    ASSERT_EQ(cfg.auth.keys.size(), 1u);
    EXPECT_EQ(cfg.auth.keys[0].alg, "HS256");
    EXPECT_EQ(cfg.auth.keys[0].secret, "a-shared-secret-of-some-length");
    EXPECT_EQ(cfg.auth.keys[0].kid, "");
    EXPECT_EQ(cfg.auth.keys[0].pem_file, "");
    EXPECT_TRUE(cfg.unset_secret_envs.empty());
  }
  {
    // Set but empty counts as unset.
    const DefaultEnv env;
    const ScopedEnv secret("RINGCAST_JWT_SECRET", "");
    Config cfg;
    ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
    EXPECT_TRUE(cfg.auth.keys.empty());
    EXPECT_EQ(cfg.unset_secret_envs, std::vector<std::string>{"RINGCAST_JWT_SECRET"});
  }
}

TEST(DefaultConfig, ApiKeyFromTheEnvironment) {
  const DefaultEnv env;
  {
    const ScopedEnv key("RINGCAST_API_KEY", "0123456789abcdef");
    Config cfg;
    ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
    EXPECT_EQ(cfg.api.keys, std::vector<std::string>{"0123456789abcdef"});
  }
  {
    const ScopedEnv key("RINGCAST_API_KEY", "short");
    Config cfg;
    EXPECT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg),
              "(embedded default): api.key_env: RINGCAST_API_KEY must hold 8 to 256 bytes");
  }
}

TEST(DefaultConfig, AgreesWithTheStructDefaults) {
  // The file documents the defaults; the structs carry them. Both must agree,
  // so an omitted key means what the default file says.
  const DefaultEnv env;
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
  EXPECT_EQ(cfg.endpoints[2].token_sources, e.token_sources);
  EXPECT_EQ(cfg.endpoints[2].token_param, e.token_param);
  EXPECT_EQ(cfg.endpoints[2].token_protocol_prefix, e.token_protocol_prefix);
  EXPECT_EQ(cfg.endpoints[2].hook_timeout_ms, e.hook_timeout_ms);
  EXPECT_EQ(cfg.endpoints[3].channel_param, e.channel_param);
  EXPECT_EQ(cfg.endpoints[0].protocol, e.protocol);
  EXPECT_EQ(cfg.endpoints[0].auth, e.auth);
  EXPECT_EQ(cfg.endpoints[0].max_message_bytes, e.max_message_bytes);
  EXPECT_EQ(cfg.endpoints[0].idle_ping_ms, e.idle_ping_ms);
  EXPECT_EQ(cfg.endpoints[0].pong_timeout_ms, e.pong_timeout_ms);
  EXPECT_EQ(cfg.endpoints[0].max_output_bytes, e.max_output_bytes);
  const AuthConfig a;
  EXPECT_EQ(cfg.auth.jwks_file, a.jwks_file);
  EXPECT_EQ(cfg.auth.issuer, a.issuer);
  EXPECT_EQ(cfg.auth.audience, a.audience);
  EXPECT_EQ(cfg.auth.leeway_s, a.leeway_s);
  EXPECT_EQ(cfg.auth.max_token_bytes, a.max_token_bytes);
  EXPECT_EQ(cfg.auth.require_exp, a.require_exp);
  EXPECT_EQ(cfg.auth.user_claim, a.user_claim);
  EXPECT_EQ(cfg.auth.tenant_claim, a.tenant_claim);
  EXPECT_EQ(cfg.auth.agent_claim, a.agent_claim);
  EXPECT_EQ(cfg.auth.channels_claim, a.channels_claim);
  const ApiConfig api;
  EXPECT_EQ(cfg.api.enabled, api.enabled);
  EXPECT_EQ(cfg.api.listen_host, api.listen_host);
  EXPECT_EQ(cfg.api.listen_port, api.listen_port);
  EXPECT_EQ(cfg.api.keys, api.keys);
  EXPECT_EQ(cfg.api.max_body_bytes, api.max_body_bytes);
  EXPECT_EQ(cfg.api.close_code, api.close_code);
}

TEST(DefaultConfig, ResolvesIntoAnEndpointTable) {
  const DefaultEnv env;
  Config cfg;
  ASSERT_EQ(parse_config(kDefaultConfig, "(embedded default)", cfg), "");
  const protocol::EndpointTable table(cfg.endpoints);
  ASSERT_EQ(table.size(), 6u);
  EXPECT_EQ(table.find("/echo"), 0);
  EXPECT_EQ(table.find("/ws/"), 1);
  EXPECT_EQ(table.find("/api/v1/ws"), 2);
  EXPECT_EQ(table.find("/v1/ws"), 3);
  EXPECT_EQ(table.find("/v1"), 5);
  EXPECT_EQ(table[1].config.protocol, Protocol::json_echo);
  EXPECT_EQ(table[0].parser.max_message_bytes, cfg.endpoints[0].max_message_bytes);
  EXPECT_TRUE(table[0].parser.expect_masked) << "a server expects masked client frames";
  for (size_t i = 0; i < table.size(); ++i) EXPECT_EQ(table[i].templated, i == 4) << i;
  // Seed 003's channel-bound path, with its parameters.
  protocol::PathParams p;
  EXPECT_EQ(table.find("/v1/ws/tenant/acme/agent/bot-7/channel/room.1", &p), 4);
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_EQ(p.agent, "bot-7");
  EXPECT_EQ(p.channel, "room.1");
  EXPECT_EQ(table.find("/v1/ws/tenant/acme/agent/bot-7/channel/"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/v1/ws/tenant/acme/agent/bot-7"), protocol::EndpointTable::kNotFound);
  // Otherwise an exact match only.
  EXPECT_EQ(table.find("/ws"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/echo/"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/ECHO"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/healthz"), protocol::EndpointTable::kNotFound);
  EXPECT_EQ(table.find("/v1/ws/"), protocol::EndpointTable::kNotFound);
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
  EXPECT_EQ(cfg.endpoints[0].auth, AuthMode::none) << "no [auth] and no auth key: open";
  EXPECT_TRUE(cfg.auth.keys.empty());
  EXPECT_TRUE(cfg.unset_secret_envs.empty());
  EXPECT_EQ(cfg.api.enabled, d.api.enabled);
  EXPECT_EQ(cfg.api.listen_host, d.api.listen_host);
  EXPECT_EQ(cfg.api.listen_port, d.api.listen_port);
  EXPECT_TRUE(cfg.api.keys.empty());
}

TEST(ConfigFile, RangeLimitsAreInclusive) {
  Config cfg;
  ASSERT_EQ(parse("[server]\nthreads = 63\nrecv_buffers = 32768\nmax_connections = 1048576\n" +
                      std::string(kOneEndpoint),
                  cfg),
            "");
  EXPECT_EQ(cfg.server.threads, 63u) << "63 at most: one bit of the reactor mask is the API node's";
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
  EXPECT_EQ(server_error("threads = 64"), "test.toml: server.threads: must be between 0 and 63, got 64")
      << "the 64th bit of the reactor mask is the API node's";
  EXPECT_EQ(server_error("threads = 65"), "test.toml: server.threads: must be between 0 and 63, got 65");
  EXPECT_EQ(server_error("threads = -1"), "test.toml: server.threads: must be between 0 and 63, got -1");
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
            "test.toml: server.threads: must be between 0 and 63, got 4294967297");
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
            "test.toml: endpoint[0].route[0].handler: missing (or give an upstream)");
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
  EXPECT_EQ(load_config_file(path, cfg), std::string(path) + ": server.threads: must be between 0 and 63, got 300");
  std::remove(path);
  EXPECT_EQ(load_config_file(path, cfg), std::string(path) + ": cannot read the file");
}

// --- [auth] and [[auth.key]] ---------------------------------------------------

std::string auth_error(const std::string& lines) { return error_of("[auth]\n" + lines + "\n" + kOneEndpoint); }
std::string key_error(const std::string& lines) { return error_of("[[auth.key]]\n" + lines + "\n" + kOneEndpoint); }

TEST(AuthConfig, EveryKeySet) {
  const ScopedEnv secret("RINGCAST_TEST_HS512_SECRET", "secret-from-the-environment");
  Config cfg;
  ASSERT_EQ(parse(R"([auth]
jwks_file = "/etc/ringcast/jwks.json"
issuer = "https://issuer.example"
audience = "ringcast"
leeway_s = 0
max_token_bytes = 64
require_exp = false
user_claim = "uid"
tenant_claim = "org"
agent_claim = "bot"
channels_claim = "rooms"

[[auth.key]]
kid = "k1"
alg = "HS256"
secret = "shared-secret"

[[auth.key]]
kid = "k2"
alg = "RS256"
pem_file = "/keys/rs.pem"

[[auth.key]]
alg = "ES256"
pem_file = "/keys/es.pem"

[[auth.key]]
kid = "ed"
alg = "EdDSA"
pem_file = "/keys/ed.pem"

[[auth.key]]
kid = "env"
alg = "HS512"
secret_env = "RINGCAST_TEST_HS512_SECRET"
)" + std::string(kOneEndpoint),
                  cfg),
            "");
  const AuthConfig& a = cfg.auth;
  EXPECT_EQ(a.jwks_file, "/etc/ringcast/jwks.json");
  EXPECT_EQ(a.issuer, "https://issuer.example");
  EXPECT_EQ(a.audience, "ringcast");
  EXPECT_EQ(a.leeway_s, 0u);
  EXPECT_EQ(a.max_token_bytes, 64u);
  EXPECT_FALSE(a.require_exp);
  EXPECT_EQ(a.user_claim, "uid");
  EXPECT_EQ(a.tenant_claim, "org");
  EXPECT_EQ(a.agent_claim, "bot");
  EXPECT_EQ(a.channels_claim, "rooms");
  ASSERT_EQ(a.keys.size(), 5u);  // in file order
  EXPECT_EQ(a.keys[0].kid, "k1");
  EXPECT_EQ(a.keys[0].alg, "HS256");
  EXPECT_EQ(a.keys[0].secret, "shared-secret");
  EXPECT_EQ(a.keys[0].pem_file, "");
  EXPECT_EQ(a.keys[1].kid, "k2");
  EXPECT_EQ(a.keys[1].alg, "RS256");
  EXPECT_EQ(a.keys[1].pem_file, "/keys/rs.pem");
  EXPECT_EQ(a.keys[1].secret, "");
  EXPECT_EQ(a.keys[2].kid, "") << "kid is optional";
  EXPECT_EQ(a.keys[2].alg, "ES256");
  EXPECT_EQ(a.keys[2].pem_file, "/keys/es.pem");
  EXPECT_EQ(a.keys[3].alg, "EdDSA");
  EXPECT_EQ(a.keys[4].kid, "env");
  EXPECT_EQ(a.keys[4].alg, "HS512");
  EXPECT_EQ(a.keys[4].secret, "secret-from-the-environment") << "secret_env is resolved at load";
  EXPECT_TRUE(cfg.unset_secret_envs.empty());
}

TEST(AuthConfig, OmittedKeysKeepDefaults) {
  Config cfg;
  ASSERT_EQ(parse("[auth]\n" + std::string(kOneEndpoint), cfg), "");
  const AuthConfig d;
  EXPECT_TRUE(cfg.auth.keys.empty());
  EXPECT_EQ(cfg.auth.leeway_s, d.leeway_s);
  EXPECT_EQ(cfg.auth.max_token_bytes, d.max_token_bytes);
  EXPECT_EQ(cfg.auth.require_exp, d.require_exp);
  EXPECT_EQ(cfg.auth.user_claim, "sub");
  ASSERT_EQ(parse("[auth]\nkey = []\n" + std::string(kOneEndpoint), cfg), "");
  EXPECT_TRUE(cfg.auth.keys.empty());
}

TEST(AuthConfig, EveryAlgorithm) {
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    Config cfg;
    EXPECT_EQ(parse("[[auth.key]]\nalg = \"" + std::string(alg) + "\"\nsecret = \"s\"\n" + kOneEndpoint, cfg), "")
        << alg;
    ASSERT_EQ(cfg.auth.keys.size(), 1u) << alg;
    EXPECT_EQ(cfg.auth.keys[0].alg, alg);
  }
  for (const char* alg : {"RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"}) {
    Config cfg;
    EXPECT_EQ(parse("[[auth.key]]\nalg = \"" + std::string(alg) + "\"\npem_file = \"k.pem\"\n" + kOneEndpoint, cfg),
              "")
        << alg;
    ASSERT_EQ(cfg.auth.keys.size(), 1u) << alg;
    EXPECT_EQ(cfg.auth.keys[0].alg, alg);
  }
}

TEST(AuthConfig, RangeLimitsAreInclusive) {
  Config cfg;
  ASSERT_EQ(parse("[auth]\nleeway_s = 86400\nmax_token_bytes = 1048576\n" + std::string(kOneEndpoint), cfg), "");
  EXPECT_EQ(cfg.auth.leeway_s, 86400u);
  EXPECT_EQ(cfg.auth.max_token_bytes, 1u << 20);
  ASSERT_EQ(parse("[auth]\nleeway_s = 0\nmax_token_bytes = 64\n" + std::string(kOneEndpoint), cfg), "");
  EXPECT_EQ(cfg.auth.leeway_s, 0u);
  EXPECT_EQ(cfg.auth.max_token_bytes, 64u);
}

TEST(AuthConfig, Errors) {
  EXPECT_EQ(error_of("auth = 5\n" + std::string(kOneEndpoint)), "test.toml: auth: expected a table");
  EXPECT_EQ(auth_error("bogus = 1"), "test.toml: auth.bogus: unknown key");
  EXPECT_EQ(auth_error("Issuer = \"x\""), "test.toml: auth.Issuer: unknown key");
  for (const char* key : {"jwks_file", "issuer", "audience", "user_claim", "tenant_claim", "agent_claim",
                          "channels_claim"}) {
    EXPECT_EQ(auth_error(std::string(key) + " = 1"), std::string("test.toml: auth.") + key + ": expected a string");
  }
  for (const char* key : {"user_claim", "tenant_claim", "agent_claim", "channels_claim"}) {
    EXPECT_EQ(auth_error(std::string(key) + " = \"\""),
              std::string("test.toml: auth.") + key + ": must not be empty");
  }
  EXPECT_EQ(auth_error("leeway_s = \"30\""), "test.toml: auth.leeway_s: expected an integer");
  EXPECT_EQ(auth_error("leeway_s = -1"), "test.toml: auth.leeway_s: must be between 0 and 86400, got -1");
  EXPECT_EQ(auth_error("leeway_s = 86401"), "test.toml: auth.leeway_s: must be between 0 and 86400, got 86401");
  EXPECT_EQ(auth_error("max_token_bytes = 1.5"), "test.toml: auth.max_token_bytes: expected an integer");
  EXPECT_EQ(auth_error("max_token_bytes = 63"),
            "test.toml: auth.max_token_bytes: must be between 64 and 1048576, got 63");
  EXPECT_EQ(auth_error("max_token_bytes = 1048577"),
            "test.toml: auth.max_token_bytes: must be between 64 and 1048576, got 1048577");
  EXPECT_EQ(auth_error("require_exp = 1"), "test.toml: auth.require_exp: expected true or false");
  EXPECT_EQ(auth_error("require_exp = \"true\""), "test.toml: auth.require_exp: expected true or false");
}

TEST(AuthConfig, KeyShapeErrors) {
  EXPECT_EQ(auth_error("key = 5"), "test.toml: auth.key: expected [[auth.key]] tables");
  EXPECT_EQ(auth_error("key = [1]"), "test.toml: auth.key: expected [[auth.key]] tables");
  EXPECT_EQ(auth_error("key = { alg = \"HS256\", secret = \"s\" }"),
            "test.toml: auth.key: expected [[auth.key]] tables");
  EXPECT_EQ(key_error("alg = \"HS256\"\nsecret = \"s\"\nbogus = 1"), "test.toml: auth.key[0].bogus: unknown key");
  EXPECT_EQ(key_error("alg = \"HS256\"\nsecret = \"s\"\nkid = 1"), "test.toml: auth.key[0].kid: expected a string");
  EXPECT_EQ(key_error("alg = 256\nsecret = \"s\""), "test.toml: auth.key[0].alg: expected a string");
  EXPECT_EQ(key_error("alg = \"HS256\"\nsecret = true"), "test.toml: auth.key[0].secret: expected a string");
  EXPECT_EQ(key_error("alg = \"HS256\"\nsecret_env = 1"), "test.toml: auth.key[0].secret_env: expected a string");
  EXPECT_EQ(key_error("alg = \"RS256\"\npem_file = []"), "test.toml: auth.key[0].pem_file: expected a string");
  // The index names the key at fault.
  EXPECT_EQ(error_of("[[auth.key]]\nalg = \"HS256\"\nsecret = \"s\"\n[[auth.key]]\nalg = \"HS256\"\nwhat = 1\n" +
                     std::string(kOneEndpoint)),
            "test.toml: auth.key[1].what: unknown key");
}

TEST(AuthConfig, KeyAlgorithmErrors) {
  const std::string expected =
      "test.toml: auth.key[0].alg: expected one of HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 EdDSA";
  EXPECT_EQ(key_error("secret = \"s\""), expected) << "alg is required";
  for (const char* alg : {"", "none", "hs256", "HS", "HS257", "ES512", "PS256", "EDDSA", "Ed25519", " HS256"}) {
    EXPECT_EQ(key_error("alg = \"" + std::string(alg) + "\"\nsecret = \"s\"\npem_file = \"k.pem\""), expected)
        << alg;
  }
}

TEST(AuthConfig, KeyMaterialErrors) {
  EXPECT_EQ(key_error("alg = \"HS256\""), "test.toml: auth.key[0].secret: an HS* key needs secret or secret_env");
  EXPECT_EQ(key_error("alg = \"HS384\"\nsecret = \"\""),
            "test.toml: auth.key[0].secret: an HS* key needs secret or secret_env");
  EXPECT_EQ(key_error("alg = \"HS256\"\nsecret_env = \"\""),
            "test.toml: auth.key[0].secret: an HS* key needs secret or secret_env")
      << "an empty secret_env names no variable";
  EXPECT_EQ(key_error("alg = \"RS256\""), "test.toml: auth.key[0].pem_file: an RS256 key needs pem_file");
  EXPECT_EQ(key_error("alg = \"ES384\"\npem_file = \"\""),
            "test.toml: auth.key[0].pem_file: an ES384 key needs pem_file");
  EXPECT_EQ(key_error("alg = \"EdDSA\""), "test.toml: auth.key[0].pem_file: an EdDSA key needs pem_file");
  EXPECT_EQ(key_error("alg = \"HS512\"\nsecret = \"s\"\npem_file = \"k.pem\""),
            "test.toml: auth.key[0].pem_file: an HS* key is a secret, not a PEM file");
  EXPECT_EQ(key_error("alg = \"ES256\"\npem_file = \"k.pem\"\nsecret = \"s\""),
            "test.toml: auth.key[0].secret: an ES256 key is a PEM file, not a secret");
  EXPECT_EQ(key_error("alg = \"RS512\"\npem_file = \"k.pem\"\nsecret = \"s\""),
            "test.toml: auth.key[0].secret: an RS512 key is a PEM file, not a secret");
  // secret and secret_env together, whether or not the variable is set.
  {
    const ScopedEnv v("RINGCAST_TEST_SECRET", nullptr);
    EXPECT_EQ(key_error("alg = \"HS256\"\nsecret = \"s\"\nsecret_env = \"RINGCAST_TEST_SECRET\""),
              "test.toml: auth.key[0].secret_env: give secret or secret_env, not both");
  }
  {
    const ScopedEnv v("RINGCAST_TEST_SECRET", "from-env");
    EXPECT_EQ(key_error("alg = \"HS256\"\nsecret = \"s\"\nsecret_env = \"RINGCAST_TEST_SECRET\""),
              "test.toml: auth.key[0].secret_env: give secret or secret_env, not both");
    // A set secret_env on a PEM algorithm is a secret where none belongs.
    EXPECT_EQ(key_error("alg = \"RS256\"\npem_file = \"k.pem\"\nsecret_env = \"RINGCAST_TEST_SECRET\""),
              "test.toml: auth.key[0].secret_env: an RS256 key is a PEM file, not a secret");
    EXPECT_EQ(key_error("alg = \"HS256\"\npem_file = \"k.pem\"\nsecret_env = \"RINGCAST_TEST_SECRET\""),
              "test.toml: auth.key[0].pem_file: an HS* key is a secret, not a PEM file");
  }
}

TEST(AuthConfig, SecretEnvSet) {
  const ScopedEnv v("RINGCAST_TEST_SECRET", "s3cr3t with spaces & symbols");
  Config cfg;
  ASSERT_EQ(parse("[[auth.key]]\nkid = \"a\"\nalg = \"HS384\"\nsecret_env = \"RINGCAST_TEST_SECRET\"\n" +
                      std::string(kOneEndpoint),
                  cfg),
            "");
  ASSERT_EQ(cfg.auth.keys.size(), 1u);
  EXPECT_EQ(cfg.auth.keys[0].kid, "a");
  EXPECT_EQ(cfg.auth.keys[0].alg, "HS384");
  EXPECT_EQ(cfg.auth.keys[0].secret, "s3cr3t with spaces & symbols") << "the bytes, as they are";
  EXPECT_TRUE(cfg.unset_secret_envs.empty());
}

TEST(AuthConfig, SecretEnvUnsetLeavesTheKeyOut) {
  const ScopedEnv a("RINGCAST_TEST_SECRET_A", nullptr);
  const ScopedEnv b("RINGCAST_TEST_SECRET_B", "");  // empty counts as unset
  const ScopedEnv c("RINGCAST_TEST_SECRET_C", "the-c-secret");
  Config cfg;
  ASSERT_EQ(parse(R"([[auth.key]]
kid = "a"
alg = "HS256"
secret_env = "RINGCAST_TEST_SECRET_A"

[[auth.key]]
kid = "fixed"
alg = "HS256"
secret = "in-the-file"

[[auth.key]]
kid = "b"
alg = "HS512"
secret_env = "RINGCAST_TEST_SECRET_B"

[[auth.key]]
kid = "c"
alg = "HS256"
secret_env = "RINGCAST_TEST_SECRET_C"
)" + std::string(kOneEndpoint),
                  cfg),
            "");
  // Not an error: the other keys load, and the unset names are recorded in order.
  ASSERT_EQ(cfg.auth.keys.size(), 2u);
  EXPECT_EQ(cfg.auth.keys[0].kid, "fixed");
  EXPECT_EQ(cfg.auth.keys[0].secret, "in-the-file");
  EXPECT_EQ(cfg.auth.keys[1].kid, "c");
  EXPECT_EQ(cfg.auth.keys[1].secret, "the-c-secret");
  EXPECT_EQ(cfg.unset_secret_envs, (std::vector<std::string>{"RINGCAST_TEST_SECRET_A", "RINGCAST_TEST_SECRET_B"}));
  // A failed parse reports nothing about variables: the output is untouched.
  Config marked;
  marked.unset_secret_envs = {"marker"};
  EXPECT_NE(parse("[[auth.key]]\nalg = \"HS256\"\nsecret_env = \"RINGCAST_TEST_SECRET_A\"\n[server]\nbogus = 1\n" +
                      std::string(kOneEndpoint),
                  marked),
            "");
  EXPECT_EQ(marked.unset_secret_envs, std::vector<std::string>{"marker"});
}

// Whether a key table is consistent must not depend on the environment: the
// same file that fails with the variable set must fail with it unset.
// A key's consistency does not depend on whether its secret_env is set.
TEST(AuthConfig, SecretEnvConsistencyDoesNotDependOnTheEnvironment) {
  const ScopedEnv v("RINGCAST_TEST_SECRET", nullptr);
  std::string err = key_error("alg = \"RS256\"\npem_file = \"k.pem\"\nsecret_env = \"RINGCAST_TEST_SECRET\"");
  EXPECT_TRUE(err.starts_with("test.toml: auth.key[0].")) << err;
  EXPECT_NE(err.find("an RS256 key is a PEM file, not a secret"), std::string::npos) << err;
  err = key_error("alg = \"HS256\"\npem_file = \"k.pem\"\nsecret_env = \"RINGCAST_TEST_SECRET\"");
  EXPECT_EQ(err, "test.toml: auth.key[0].pem_file: an HS* key is a secret, not a PEM file");
}

// --- [api] -------------------------------------------------------------------

std::string api_error(const std::string& lines) { return error_of("[api]\n" + lines + "\n" + kOneEndpoint); }

TEST(ApiConfig, EveryKeySet) {
  const ScopedEnv env_key("RINGCAST_TEST_API_KEY", "key-from-the-environment");
  const std::string longest(256, 'k');
  Config cfg;
  ASSERT_EQ(parse(R"([api]
enabled = false
listen = "[::1]:9443"
keys = ["12345678", ")" + longest + R"("]
key_env = "RINGCAST_TEST_API_KEY"
max_body_bytes = 256
close_code = 4999
)" + std::string(kOneEndpoint),
                  cfg),
            "");
  const ApiConfig& a = cfg.api;
  EXPECT_FALSE(a.enabled);
  EXPECT_EQ(a.listen_host, "::1");
  EXPECT_EQ(a.listen_port, 9443);
  ASSERT_EQ(a.keys.size(), 3u) << "the file's keys plus the environment's";
  for (const std::string& k : {std::string("12345678"), longest, std::string("key-from-the-environment")})
    EXPECT_EQ(std::count(a.keys.begin(), a.keys.end(), k), 1) << k;
  EXPECT_EQ(a.max_body_bytes, 256u);
  EXPECT_EQ(a.close_code, 4999);
  // The API listener is its own: server.listen keeps its default.
  EXPECT_EQ(cfg.server.listen_host, "0.0.0.0");
  EXPECT_EQ(cfg.server.listen_port, 8080);
}

TEST(ApiConfig, ValuesAtTheLimits) {
  Config cfg;
  ASSERT_EQ(parse("[api]\nlisten = \"0.0.0.0:0\"\nkeys = []\nmax_body_bytes = 67108864\nclose_code = 1000\n" +
                      std::string(kOneEndpoint),
                  cfg),
            "");
  EXPECT_TRUE(cfg.api.enabled);
  EXPECT_EQ(cfg.api.listen_host, "0.0.0.0");
  EXPECT_EQ(cfg.api.listen_port, 0) << "0 = any free port";
  EXPECT_TRUE(cfg.api.keys.empty());
  EXPECT_EQ(cfg.api.max_body_bytes, 64u << 20);
  EXPECT_EQ(cfg.api.close_code, 1000);
  for (int code : {3000, 3999, 4000, 4999}) {
    ASSERT_EQ(parse("[api]\nclose_code = " + std::to_string(code) + "\n" + kOneEndpoint, cfg), "") << code;
    EXPECT_EQ(cfg.api.close_code, code);
  }
  {
    // An unset or empty key_env adds nothing; neither does an empty name.
    const ScopedEnv unset("RINGCAST_TEST_API_KEY", nullptr);
    ASSERT_EQ(parse("[api]\nkey_env = \"RINGCAST_TEST_API_KEY\"\n" + std::string(kOneEndpoint), cfg), "");
    EXPECT_TRUE(cfg.api.keys.empty());
    ASSERT_EQ(parse("[api]\nkey_env = \"\"\n" + std::string(kOneEndpoint), cfg), "");
    EXPECT_TRUE(cfg.api.keys.empty());
  }
  {
    const ScopedEnv empty("RINGCAST_TEST_API_KEY", "");
    ASSERT_EQ(parse("[api]\nkey_env = \"RINGCAST_TEST_API_KEY\"\n" + std::string(kOneEndpoint), cfg), "");
    EXPECT_TRUE(cfg.api.keys.empty());
  }
}

TEST(ApiConfig, Errors) {
  EXPECT_EQ(error_of("api = 5\n" + std::string(kOneEndpoint)), "test.toml: api: expected a table");
  EXPECT_EQ(api_error("bogus = 1"), "test.toml: api.bogus: unknown key");
  EXPECT_EQ(api_error("enabled = 1"), "test.toml: api.enabled: expected true or false");
  EXPECT_EQ(api_error("listen = 9090"), "test.toml: api.listen: expected a string");
  EXPECT_EQ(api_error("listen = \"localhost\""), "test.toml: api.listen: expected host:port");
  EXPECT_EQ(api_error("listen = \":9090\""), "test.toml: api.listen: missing host");
  EXPECT_EQ(api_error("listen = \"127.0.0.1:65536\""),
            "test.toml: api.listen: port must be a number from 0 to 65535");
  EXPECT_EQ(api_error("listen = \"[::1]9090\""), "test.toml: api.listen: expected [ipv6]:port");
  EXPECT_EQ(api_error("keys = \"12345678\""), "test.toml: api.keys: expected an array of strings");
  EXPECT_EQ(api_error("keys = [\"1234567\"]"), "test.toml: api.keys: expected keys of 8 to 256 bytes");
  EXPECT_EQ(api_error("keys = [\"" + std::string(257, 'k') + "\"]"),
            "test.toml: api.keys: expected keys of 8 to 256 bytes");
  EXPECT_EQ(api_error("keys = [\"12345678\", \"\"]"), "test.toml: api.keys: expected keys of 8 to 256 bytes");
  EXPECT_EQ(api_error("keys = [12345678]"), "test.toml: api.keys: expected keys of 8 to 256 bytes");
  EXPECT_EQ(api_error("key_env = 1"), "test.toml: api.key_env: expected a string");
  {
    const ScopedEnv short_key("RINGCAST_TEST_API_KEY", "1234567");
    EXPECT_EQ(api_error("key_env = \"RINGCAST_TEST_API_KEY\""),
              "test.toml: api.key_env: RINGCAST_TEST_API_KEY must hold 8 to 256 bytes");
  }
  {
    const ScopedEnv long_key("RINGCAST_TEST_API_KEY", std::string(257, 'k').c_str());
    EXPECT_EQ(api_error("key_env = \"RINGCAST_TEST_API_KEY\""),
              "test.toml: api.key_env: RINGCAST_TEST_API_KEY must hold 8 to 256 bytes");
  }
  EXPECT_EQ(api_error("max_body_bytes = \"1M\""), "test.toml: api.max_body_bytes: expected an integer");
  EXPECT_EQ(api_error("max_body_bytes = 255"),
            "test.toml: api.max_body_bytes: must be between 256 and 67108864, got 255");
  EXPECT_EQ(api_error("max_body_bytes = 67108865"),
            "test.toml: api.max_body_bytes: must be between 256 and 67108864, got 67108865");
  EXPECT_EQ(api_error("close_code = \"1000\""), "test.toml: api.close_code: expected an integer");
}

TEST(ApiConfig, CloseCodeIs1000OrAnApplicationCode) {
  // 1001..2999 are the protocol's own codes (RFC 6455 7.4): not for an API close.
  for (int code : {1001, 1005, 1006, 1008, 1011, 1015, 2000, 2999}) {
    EXPECT_EQ(api_error("close_code = " + std::to_string(code)),
              "test.toml: api.close_code: expected 1000 or 3000 to 4999")
        << code;
  }
  EXPECT_EQ(api_error("close_code = 999"), "test.toml: api.close_code: must be between 1000 and 4999, got 999");
  EXPECT_EQ(api_error("close_code = 0"), "test.toml: api.close_code: must be between 1000 and 4999, got 0");
  EXPECT_EQ(api_error("close_code = 5000"), "test.toml: api.close_code: must be between 1000 and 4999, got 5000");
  EXPECT_EQ(api_error("close_code = 65536"),
            "test.toml: api.close_code: must be between 1000 and 4999, got 65536");
}

// --- Endpoint authentication, hooks and path templates ------------------------

TEST(EndpointAuth, EveryKeySet) {
  Config cfg;
  ASSERT_EQ(parse(R"([[endpoint]]
path = "/t/{tenant_id}/a/{agent_id}/c/{channel_id}"
protocol = "channel"
auth = "jwt"
token_sources = ["header", "protocol"]
token_param = "access_token"
token_protocol_prefix = "jwt."
connect_upstream = "http://127.0.0.1:3000/connect"
disconnect_upstream = "http://hooks.internal/disconnect?x=1"
hook_timeout_ms = 250

[[endpoint]]
path = "/open"
protocol = "envelope"
auth = "none"
token_sources = []

[[endpoint]]
path = "/q"
protocol = "action"
auth = "jwt"
token_sources = ["query", "query"]
hook_timeout_ms = 3600000
)",
                  cfg),
            "");
  ASSERT_EQ(cfg.endpoints.size(), 3u);
  const EndpointConfig& e = cfg.endpoints[0];
  EXPECT_EQ(e.path, "/t/{tenant_id}/a/{agent_id}/c/{channel_id}");
  EXPECT_EQ(e.auth, AuthMode::jwt);
  EXPECT_EQ(e.token_sources, kTokenHeader | kTokenProtocol);
  EXPECT_EQ(e.token_param, "access_token");
  EXPECT_EQ(e.token_protocol_prefix, "jwt.");
  EXPECT_EQ(e.connect_upstream, "http://127.0.0.1:3000/connect");
  EXPECT_EQ(e.disconnect_upstream, "http://hooks.internal/disconnect?x=1");
  EXPECT_EQ(e.hook_timeout_ms, 250u);
  const EndpointConfig& open = cfg.endpoints[1];
  EXPECT_EQ(open.auth, AuthMode::none);
  EXPECT_EQ(open.token_sources, 0) << "no sources is fine without auth";
  EXPECT_EQ(open.connect_upstream, "");
  const EndpointConfig& q = cfg.endpoints[2];
  EXPECT_EQ(q.token_sources, kTokenQuery);
  EXPECT_EQ(q.token_param, "token");
  EXPECT_EQ(q.token_protocol_prefix, "bearer.");
  EXPECT_EQ(q.hook_timeout_ms, 3600000u);
}

TEST(EndpointAuth, Errors) {
  EXPECT_EQ(endpoint_error("auth = true"), "test.toml: endpoint[0].auth: expected a string");
  for (const char* mode : {"basic", "JWT", "", "bearer"}) {
    EXPECT_EQ(endpoint_error("auth = \"" + std::string(mode) + "\""),
              "test.toml: endpoint[0].auth: expected \"jwt\" or \"none\"")
        << mode;
  }
  EXPECT_EQ(endpoint_error("token_sources = \"query\""),
            "test.toml: endpoint[0].token_sources: expected an array of strings");
  EXPECT_EQ(endpoint_error("token_sources = [1]"),
            "test.toml: endpoint[0].token_sources: expected non-empty strings of at most 64 bytes");
  EXPECT_EQ(endpoint_error("token_sources = [\"query\", \"cookie\"]"),
            "test.toml: endpoint[0].token_sources: \"cookie\": expected \"query\", \"header\" or \"protocol\"");
  EXPECT_EQ(endpoint_error("token_sources = [\"Header\"]"),
            "test.toml: endpoint[0].token_sources: \"Header\": expected \"query\", \"header\" or \"protocol\"");
  EXPECT_EQ(endpoint_error("auth = \"jwt\"\ntoken_sources = []"),
            "test.toml: endpoint[0].token_sources: accepts no source");
  for (const char* key : {"token_param", "token_protocol_prefix"}) {
    for (const char* bad : {"", "a b", "bearer ", "to|ken", "tok=en"}) {
      EXPECT_EQ(endpoint_error(std::string(key) + " = \"" + bad + "\""),
                std::string("test.toml: endpoint[0].") + key + ": expected 1 to 64 of A-Z a-z 0-9 _ - .")
          << bad;
    }
    EXPECT_EQ(endpoint_error(std::string(key) + " = \"" + std::string(65, 't') + "\""),
              std::string("test.toml: endpoint[0].") + key + ": expected 1 to 64 of A-Z a-z 0-9 _ - .");
    EXPECT_EQ(endpoint_error(std::string(key) + " = 1"),
              std::string("test.toml: endpoint[0].") + key + ": expected a string");
  }
  for (const char* key : {"connect_upstream", "disconnect_upstream"}) {
    for (const char* bad : {"", "http://", "https://hooks/connect", "hooks:80/connect", "HTTP://hooks", "ws://hooks"}) {
      EXPECT_EQ(endpoint_error(std::string(key) + " = \"" + bad + "\""),
                std::string("test.toml: endpoint[0].") + key + ": expected an http://host[:port][/path] URL")
          << bad;
    }
    EXPECT_EQ(endpoint_error(std::string(key) + " = 1"),
              std::string("test.toml: endpoint[0].") + key + ": expected a string");
  }
  EXPECT_EQ(endpoint_error("hook_timeout_ms = \"5s\""), "test.toml: endpoint[0].hook_timeout_ms: expected an integer");
  EXPECT_EQ(endpoint_error("hook_timeout_ms = 0"),
            "test.toml: endpoint[0].hook_timeout_ms: must be between 1 and 3600000, got 0");
  EXPECT_EQ(endpoint_error("hook_timeout_ms = 3600001"),
            "test.toml: endpoint[0].hook_timeout_ms: must be between 1 and 3600000, got 3600001");
  Config cfg;
  ASSERT_EQ(parse("[[endpoint]]\npath = \"/e\"\ntoken_param = \"" + std::string(64, 't') + "\"\n", cfg), "");
  EXPECT_EQ(cfg.endpoints[0].token_param.size(), 64u);
}

TEST(PathTemplate, ValidTemplates) {
  for (const char* path : {"/{channel_id}", "/rooms/{channel_id}", "/t/{tenant_id}/{agent_id}/{channel_id}",
                           "/{tenant_id}/x", "/a/{agent_id}/b/{tenant_id}/c",
                           "/v1/ws/tenant/{tenant_id}/agent/{agent_id}/channel/{channel_id}"}) {
    Config cfg;
    EXPECT_EQ(parse("[[endpoint]]\npath = \"" + std::string(path) + "\"\nprotocol = \"channel\"\nauth = \"jwt\"\n", cfg),
              "")
        << path;
    ASSERT_EQ(cfg.endpoints.size(), 1u) << path;
    EXPECT_EQ(cfg.endpoints[0].path, path);
  }
}

TEST(PathTemplate, Errors) {
  auto templ_error = [](const std::string& path, const std::string& auth = "auth = \"jwt\"\n") {
    return error_of("[[endpoint]]\npath = \"" + path + "\"\n" + auth);
  };
  const std::string unknown =
      "test.toml: endpoint[0].path: a template segment must be {tenant_id}, {agent_id} or {channel_id}";
  for (const char* path : {"/t/{user_id}", "/t/{}", "/t/{tenant_id", "/t/{Tenant_id}", "/t/{ tenant_id }",
                           "/t/{tenant}", "/t/{channel_id}/{room}", "/t/{{channel_id}}"}) {
    EXPECT_EQ(templ_error(path), unknown) << path;
  }
  const std::string segment = "test.toml: endpoint[0].path: a template parameter must be a whole path segment";
  for (const char* path : {"/t/x{tenant_id}", "/t/{tenant_id}x", "/t/{tenant_id}{agent_id}", "/t/{channel_id}.json",
                           "/t/{channel_id}/a{agent_id}/b", "/t-{tenant_id}"}) {
    EXPECT_EQ(templ_error(path), segment) << path;
  }
  // Parameters are matched against the token, so a template needs one.
  const std::string needs_jwt = "test.toml: endpoint[0].auth: a path with parameters needs auth = \"jwt\"";
  EXPECT_EQ(templ_error("/rooms/{channel_id}", ""), needs_jwt);
  EXPECT_EQ(templ_error("/rooms/{channel_id}", "auth = \"none\"\n"), needs_jwt);
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint]]\npath = \"/t/{tenant_id}\"\n"),
            "test.toml: endpoint[1].auth: a path with parameters needs auth = \"jwt\"");
}

// --- Upstream routes ------------------------------------------------------------

std::string route_error(const std::string& lines) {
  return error_of("[[endpoint]]\npath = \"/a\"\nprotocol = \"action\"\n[[endpoint.route]]\n" + lines + "\n");
}

TEST(UpstreamRoute, EveryKeySet) {
  Config cfg;
  ASSERT_EQ(parse(R"([[endpoint]]
path = "/bot"
protocol = "action"

[[endpoint.route]]
name = "ask"
upstream = "http://backend:8000/ask"
upstream_timeout_ms = 1500
upstream_concurrency = 8
required = ["question:string"]

[[endpoint.route]]
name = "$default"
upstream = "http://[::1]:9000"

[[endpoint.route]]
name = "echo"
handler = "echo"
)",
                  cfg),
            "");
  const auto& routes = cfg.endpoints.at(0).routes;
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].name, "ask");
  EXPECT_EQ(routes[0].handler, "");
  EXPECT_EQ(routes[0].upstream, "http://backend:8000/ask");
  EXPECT_EQ(routes[0].upstream_timeout_ms, 1500u);
  EXPECT_EQ(routes[0].upstream_concurrency, 8u);
  EXPECT_EQ(routes[0].required, std::vector<std::string>{"question:string"});
  EXPECT_EQ(routes[1].name, "$default");
  EXPECT_EQ(routes[1].upstream, "http://[::1]:9000");
  const RouteConfig d;
  EXPECT_EQ(routes[1].upstream_timeout_ms, d.upstream_timeout_ms);
  EXPECT_EQ(routes[1].upstream_concurrency, d.upstream_concurrency);
  EXPECT_EQ(d.upstream_timeout_ms, 10000u);
  EXPECT_EQ(d.upstream_concurrency, 64u);
  EXPECT_EQ(routes[2].handler, "echo");
  EXPECT_EQ(routes[2].upstream, "");
}

TEST(UpstreamRoute, LimitsAreInclusive) {
  Config cfg;
  ASSERT_EQ(parse("[[endpoint]]\npath = \"/a\"\n[[endpoint.route]]\nname = \"x\"\nupstream = \"http://h\"\n"
                  "upstream_timeout_ms = 1\nupstream_concurrency = 1\n[[endpoint.route]]\nname = \"y\"\n"
                  "upstream = \"http://h\"\nupstream_timeout_ms = 3600000\nupstream_concurrency = 65536\n",
                  cfg),
            "");
  const auto& routes = cfg.endpoints.at(0).routes;
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].upstream_timeout_ms, 1u);
  EXPECT_EQ(routes[0].upstream_concurrency, 1u);
  EXPECT_EQ(routes[1].upstream_timeout_ms, 3600000u);
  EXPECT_EQ(routes[1].upstream_concurrency, 65536u);
}

TEST(UpstreamRoute, Errors) {
  EXPECT_EQ(route_error("name = \"x\""), "test.toml: endpoint[0].route[0].handler: missing (or give an upstream)");
  EXPECT_EQ(route_error("name = \"x\"\nupstream_timeout_ms = 100"),
            "test.toml: endpoint[0].route[0].handler: missing (or give an upstream)")
      << "upstream settings without an upstream";
  EXPECT_EQ(route_error("name = \"x\"\nhandler = \"echo\"\nupstream = \"http://backend/x\""),
            "test.toml: endpoint[0].route[0].upstream: a route has a handler or an upstream, not both");
  EXPECT_EQ(route_error("name = \"x\"\nupstream = 80"), "test.toml: endpoint[0].route[0].upstream: expected a string");
  for (const char* bad : {"", "http://", "https://backend/x", "backend:80/x", "ftp://backend", " http://backend"}) {
    EXPECT_EQ(route_error("name = \"x\"\nupstream = \"" + std::string(bad) + "\""),
              "test.toml: endpoint[0].route[0].upstream: expected an http://host[:port][/path] URL")
        << bad;
  }
  EXPECT_EQ(route_error("name = \"x\"\nupstream = \"http://h\"\nupstream_timeout_ms = \"1s\""),
            "test.toml: endpoint[0].route[0].upstream_timeout_ms: expected an integer");
  EXPECT_EQ(route_error("name = \"x\"\nupstream = \"http://h\"\nupstream_timeout_ms = 0"),
            "test.toml: endpoint[0].route[0].upstream_timeout_ms: must be between 1 and 3600000, got 0");
  EXPECT_EQ(route_error("name = \"x\"\nupstream = \"http://h\"\nupstream_timeout_ms = 3600001"),
            "test.toml: endpoint[0].route[0].upstream_timeout_ms: must be between 1 and 3600000, got 3600001");
  EXPECT_EQ(route_error("name = \"x\"\nupstream = \"http://h\"\nupstream_concurrency = 0"),
            "test.toml: endpoint[0].route[0].upstream_concurrency: must be between 1 and 65536, got 0");
  EXPECT_EQ(route_error("name = \"x\"\nupstream = \"http://h\"\nupstream_concurrency = 65537"),
            "test.toml: endpoint[0].route[0].upstream_concurrency: must be between 1 and 65536, got 65537");
  // The index names the route at fault.
  EXPECT_EQ(error_of("[[endpoint]]\npath = \"/a\"\n[[endpoint.route]]\nname = \"x\"\nhandler = \"echo\"\n"
                     "[[endpoint.route]]\nname = \"y\"\nhandler = \"echo\"\nupstream = \"http://h\"\n"),
            "test.toml: endpoint[0].route[1].upstream: a route has a handler or an upstream, not both");
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
