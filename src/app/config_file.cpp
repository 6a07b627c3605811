// Header-only with exceptions off: Debian's shared build of toml++ is compiled
// with exceptions, and errors here are values like everywhere else.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "app/config_file.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <toml++/toml.h>

namespace ringcast::app {

namespace {

struct Reader {
  std::string_view source;
  std::string error;

  bool fail(std::string_view key, std::string_view problem) {
    if (error.empty()) error = std::string(source) + ": " + std::string(key) + ": " + std::string(problem);
    return false;
  }

  template <class T>
  bool integer(const toml::node& node, std::string_view key, T& out, int64_t min, int64_t max) {
    const auto* v = node.as_integer();
    if (!v) return fail(key, "expected an integer");
    const int64_t x = v->get();
    if (x < min || x > max) {
      return fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                           std::to_string(x));
    }
    out = T(x);
    return true;
  }

  bool boolean(const toml::node& node, std::string_view key, bool& out) {
    const auto* v = node.as_boolean();
    if (!v) return fail(key, "expected true or false");
    out = v->get();
    return true;
  }

  bool string(const toml::node& node, std::string_view key, std::string& out) {
    const auto* v = node.as_string();
    if (!v) return fail(key, "expected a string");
    out = v->get();
    return true;
  }

  static bool plain_token(std::string_view v) {
    if (v.empty() || v.size() > 64) return false;
    for (char c : v) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '-' || c == '.';
      if (!ok) return false;
    }
    return true;
  }

  bool strings(const toml::node& node, std::string_view key, std::vector<std::string>& out) {
    const auto* arr = node.as_array();
    if (!arr) return fail(key, "expected an array of strings");
    out.clear();
    for (const auto& item : *arr) {
      const auto* s = item.as_string();
      if (!s || s->get().empty() || s->get().size() > 64)
        return fail(key, "expected non-empty strings of at most 64 bytes");
      out.push_back(s->get());
    }
    return true;
  }

  // "field" or "field:kind", kind one of JSON's value kinds.
  bool requirements(const std::string& key, const std::vector<std::string>& specs) {
    for (const std::string& spec : specs) {
      const size_t colon = spec.find(':');
      if (colon == 0) return fail(key, "\"" + spec + "\": missing the field name");
      if (colon == std::string::npos) continue;
      const std::string kind = spec.substr(colon + 1);
      if (kind != "string" && kind != "number" && kind != "boolean" && kind != "object" && kind != "array")
        return fail(key, "\"" + spec + "\": the kind after ':' must be string, number, boolean, object or array");
    }
    return true;
  }

  // [[endpoint.route]] tables: name, handler, required.
  bool routes(const toml::node& node, const std::string& key, std::vector<RouteConfig>& out) {
    const auto* arr = node.as_array();
    if (!arr) return fail(key, "expected [[endpoint.route]] tables");
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string rkey = key + "[" + std::to_string(i) + "].";
      const auto* t = (*arr)[i].as_table();
      if (!t) return fail(key, "expected [[endpoint.route]] tables");
      RouteConfig rc;
      for (auto&& [k, v] : *t) {
        const std::string_view name = k.str();
        bool ok = true;
        if (name == "name") ok = string(v, rkey + "name", rc.name);
        else if (name == "handler") ok = string(v, rkey + "handler", rc.handler);
        else if (name == "required") ok = strings(v, rkey + "required", rc.required) && requirements(rkey + "required", rc.required);
        else if (name == "upstream") ok = string(v, rkey + "upstream", rc.upstream) && http_url(rkey + "upstream", rc.upstream);
        else if (name == "upstream_timeout_ms") ok = integer(v, rkey + "upstream_timeout_ms", rc.upstream_timeout_ms, 1, 3600000);
        else if (name == "upstream_concurrency") ok = integer(v, rkey + "upstream_concurrency", rc.upstream_concurrency, 1, 65536);
        else ok = fail(rkey + std::string(name), "unknown key");
        if (!ok) return false;
      }
      if (rc.name.empty() || rc.name.size() > 64) return fail(rkey + "name", "expected 1 to 64 bytes");
      if (rc.handler.empty() && rc.upstream.empty()) return fail(rkey + "handler", "missing (or give an upstream)");
      if (!rc.handler.empty() && !rc.upstream.empty()) return fail(rkey + "upstream", "a route has a handler or an upstream, not both");
      out.push_back(std::move(rc));
    }
    return true;
  }

  bool http_url(const std::string& key, const std::string& url) {
    if (url.rfind("http://", 0) != 0 || url.size() <= 7) return fail(key, "expected an http://host[:port][/path] URL");
    return true;
  }

  // [auth] and its [[auth.key]] tables.
  bool auth(const toml::table& t, AuthConfig& a) {
    for (auto&& [k, node] : t) {
      const std::string key = "auth." + std::string(k.str());
      const std::string_view name = k.str();
      bool ok = true;
      if (name == "key") ok = auth_keys(node, key, a.keys);
      else if (name == "jwks_file") ok = string(node, key, a.jwks_file);
      else if (name == "issuer") ok = string(node, key, a.issuer);
      else if (name == "audience") ok = string(node, key, a.audience);
      else if (name == "leeway_s") ok = integer(node, key, a.leeway_s, 0, 86400);
      else if (name == "max_token_bytes") ok = integer(node, key, a.max_token_bytes, 64, 1 << 20);
      else if (name == "require_exp") ok = boolean(node, key, a.require_exp);
      else if (name == "user_claim") ok = string(node, key, a.user_claim) && nonempty(key, a.user_claim);
      else if (name == "tenant_claim") ok = string(node, key, a.tenant_claim) && nonempty(key, a.tenant_claim);
      else if (name == "agent_claim") ok = string(node, key, a.agent_claim) && nonempty(key, a.agent_claim);
      else if (name == "channels_claim") ok = string(node, key, a.channels_claim) && nonempty(key, a.channels_claim);
      else ok = fail(key, "unknown key");
      if (!ok) return false;
    }
    return true;
  }

  bool nonempty(const std::string& key, const std::string& v) { return !v.empty() || fail(key, "must not be empty"); }

  bool auth_keys(const toml::node& node, const std::string& key, std::vector<JwtKeyConfig>& out) {
    const auto* arr = node.as_array();
    if (!arr) return fail(key, "expected [[auth.key]] tables");
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string kkey = key + "[" + std::to_string(i) + "].";
      const auto* t = (*arr)[i].as_table();
      if (!t) return fail(key, "expected [[auth.key]] tables");
      JwtKeyConfig kc;
      std::string secret_env;
      for (auto&& [k, v] : *t) {
        const std::string_view name = k.str();
        bool ok = true;
        if (name == "kid") ok = string(v, kkey + "kid", kc.kid);
        else if (name == "alg") ok = string(v, kkey + "alg", kc.alg);
        else if (name == "secret") ok = string(v, kkey + "secret", kc.secret);
        else if (name == "secret_env") ok = string(v, kkey + "secret_env", secret_env);
        else if (name == "pem_file") ok = string(v, kkey + "pem_file", kc.pem_file);
        else ok = fail(kkey + std::string(name), "unknown key");
        if (!ok) return false;
      }
      static constexpr std::string_view kAlgs[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                                   "RS512", "ES256", "ES384", "EdDSA"};
      if (std::find(std::begin(kAlgs), std::end(kAlgs), kc.alg) == std::end(kAlgs))
        return fail(kkey + "alg", "expected one of HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 EdDSA");
      const bool hmac = kc.alg[0] == 'H';
      const bool from_env = !secret_env.empty();
      // The same checks whether or not the variable is set now.
      if (from_env && !kc.secret.empty()) return fail(kkey + "secret_env", "give secret or secret_env, not both");
      if (!hmac && from_env) return fail(kkey + "secret_env", "an " + kc.alg + " key is a PEM file, not a secret");
      if (!hmac && !kc.secret.empty()) return fail(kkey + "secret", "an " + kc.alg + " key is a PEM file, not a secret");
      if (hmac && !kc.pem_file.empty()) return fail(kkey + "pem_file", "an HS* key is a secret, not a PEM file");
      if (hmac && !from_env && kc.secret.empty()) return fail(kkey + "secret", "an HS* key needs secret or secret_env");
      if (!hmac && kc.pem_file.empty()) return fail(kkey + "pem_file", "an " + kc.alg + " key needs pem_file");
      if (from_env) {
        const char* v = std::getenv(secret_env.c_str());
        // An unset variable leaves the key out (with a note at start), so the
        // embedded default config runs without one: its JWT endpoints then
        // refuse every token.
        if (!v || !*v) {
          unset_secret_envs.push_back(secret_env);
          continue;
        }
        kc.secret = v;
      }
      out.push_back(std::move(kc));
    }
    return true;
  }

  bool api(const toml::table& t, ApiConfig& a) {
    for (auto&& [k, node] : t) {
      const std::string key = "api." + std::string(k.str());
      const std::string_view name = k.str();
      bool ok = true;
      if (name == "enabled") {
        ok = boolean(node, key, a.enabled);
      } else if (name == "listen") {
        std::string v;
        ok = string(node, key, v);
        if (ok) {
          ServerConfig tmp;
          std::string e = parse_listen(v, tmp);
          if (!e.empty()) ok = fail(key, e);
          a.listen_host = tmp.listen_host;
          a.listen_port = tmp.listen_port;
        }
      } else if (name == "keys") {
        const auto* arr = node.as_array();
        if (!arr) {
          ok = fail(key, "expected an array of strings");
        } else {
          for (const auto& item : *arr) {
            const auto* s = item.as_string();
            if (!s || s->get().size() < 8 || s->get().size() > 256) {
              ok = fail(key, "expected keys of 8 to 256 bytes");
              break;
            }
            a.keys.push_back(s->get());
          }
        }
      } else if (name == "key_env") {
        // One more key from the environment (unset or empty = none).
        std::string env;
        ok = string(node, key, env);
        const char* v = ok && !env.empty() ? std::getenv(env.c_str()) : nullptr;
        if (v && *v) {
          const size_t n = std::string_view(v).size();
          if (n < 8 || n > 256) ok = fail(key, env + " must hold 8 to 256 bytes");
          else a.keys.emplace_back(v);
        }
      } else if (name == "max_body_bytes") {
        ok = integer(node, key, a.max_body_bytes, 256, 64 << 20);
      } else if (name == "close_code") {
        ok = integer(node, key, a.close_code, 1000, 4999);
        if (ok && a.close_code != 1000 && a.close_code < 3000) ok = fail(key, "expected 1000 or 3000 to 4999");
      } else {
        ok = fail(key, "unknown key");
      }
      if (!ok) return false;
    }
    return true;
  }

  std::vector<std::string> unset_secret_envs;

  bool server(const toml::table& t, ServerConfig& s) {
    for (auto&& [k, node] : t) {
      const std::string key = "server." + std::string(k.str());
      const std::string_view name = k.str();
      bool ok = true;
      if (name == "listen") {
        std::string v;
        ok = string(node, key, v);
        if (ok) {
          std::string e = parse_listen(v, s);
          if (!e.empty()) ok = fail(key, e);
        }
      } else if (name == "threads") {
        ok = integer(node, key, s.threads, 0, 63);  // a 64-bit reactor mask, one bit kept for the API node
      } else if (name == "pin_threads") {
        ok = boolean(node, key, s.pin_threads);
      } else if (name == "max_connections") {
        ok = integer(node, key, s.max_connections, 0, 1 << 20);
      } else if (name == "max_request_head_bytes") {
        ok = integer(node, key, s.max_request_head_bytes, 512, 1 << 20);
      } else if (name == "handshake_timeout_ms") {
        ok = integer(node, key, s.handshake_timeout_ms, 10, 3600000);
      } else if (name == "close_timeout_ms") {
        ok = integer(node, key, s.close_timeout_ms, 10, 600000);
      } else if (name == "shutdown_timeout_ms") {
        ok = integer(node, key, s.shutdown_timeout_ms, 0, 3600000);
      } else if (name == "recv_buffers") {
        ok = integer(node, key, s.recv_buffers, 1, 32768);
        if (ok && (s.recv_buffers & (s.recv_buffers - 1)) != 0) ok = fail(key, "must be a power of two");
      } else if (name == "recv_buffer_bytes") {
        ok = integer(node, key, s.recv_buffer_bytes, 1024, 1 << 20);
      } else if (name == "shutdown_reason") {
        ok = string(node, key, s.shutdown_reason);
        if (ok && !plain_token(s.shutdown_reason)) ok = fail(key, "expected 1 to 64 of A-Z a-z 0-9 _ - .");
      } else if (name == "reconnect_delay_ms") {
        ok = integer(node, key, s.reconnect_delay_ms, 0, 86400000);
      } else if (name == "mesh_queue_depth") {
        ok = integer(node, key, s.mesh_queue_depth, 16, 1 << 20);
        if (ok && (s.mesh_queue_depth & (s.mesh_queue_depth - 1)) != 0) ok = fail(key, "must be a power of two");
      } else {
        ok = fail(key, "unknown key");
      }
      if (!ok) return false;
    }
    return true;
  }

  bool endpoint(const toml::table& t, size_t index, EndpointConfig& e) {
    const std::string prefix = "endpoint[" + std::to_string(index) + "].";
    for (auto&& [k, node] : t) {
      const std::string key = prefix + std::string(k.str());
      const std::string_view name = k.str();
      bool ok = true;
      if (name == "path") {
        ok = string(node, key, e.path);
        if (ok && (e.path.empty() || e.path[0] != '/')) ok = fail(key, "must start with '/'");
        if (ok && e.path == "/healthz") ok = fail(key, "/healthz is reserved for the health check");
      } else if (name == "protocol") {
        std::string v;
        ok = string(node, key, v);
        if (ok) {
          if (v == "echo") e.protocol = Protocol::echo;
          else if (v == "json-echo") e.protocol = Protocol::json_echo;
          else if (v == "envelope") e.protocol = Protocol::envelope;
          else if (v == "channel") e.protocol = Protocol::channel;
          else if (v == "action") e.protocol = Protocol::action;
          else
            ok = fail(key, "unknown protocol \"" + v +
                               "\" (expected \"echo\", \"json-echo\", \"envelope\", \"channel\" or \"action\")");
        }
      } else if (name == "subprotocols") {
        ok = strings(node, key, e.subprotocols);
      } else if (name == "max_message_bytes") {
        ok = integer(node, key, e.max_message_bytes, 0, int64_t(1) << 31);
      } else if (name == "idle_ping_ms") {
        ok = integer(node, key, e.idle_ping_ms, 0, 3600000);
      } else if (name == "pong_timeout_ms") {
        ok = integer(node, key, e.pong_timeout_ms, 10, 3600000);
      } else if (name == "max_output_bytes") {
        ok = integer(node, key, e.max_output_bytes, 4096, int64_t(1) << 32);
      } else if (name == "route_key") {
        ok = string(node, key, e.route_key);
        if (ok && !plain_token(e.route_key)) ok = fail(key, "expected 1 to 64 of A-Z a-z 0-9 _ - .");
      } else if (name == "channel_param") {
        ok = string(node, key, e.channel_param);
        if (ok && !plain_token(e.channel_param)) ok = fail(key, "expected 1 to 64 of A-Z a-z 0-9 _ - .");
      } else if (name == "max_envelope_bytes") {
        ok = integer(node, key, e.max_envelope_bytes, 64, 64 << 20);
      } else if (name == "rate_limit_per_minute") {
        ok = integer(node, key, e.rate_limit_per_minute, 0, 60000000);
      } else if (name == "rate_limit_burst") {
        ok = integer(node, key, e.rate_limit_burst, 0, 60000000);
      } else if (name == "max_errors") {
        ok = integer(node, key, e.max_errors, 1, 1000000);
      } else if (name == "error_window_ms") {
        ok = integer(node, key, e.error_window_ms, 1, 86400000);
      } else if (name == "max_subscriptions") {
        ok = integer(node, key, e.max_subscriptions, 1, 65536);
      } else if (name == "slow_consumer") {
        std::string v;
        ok = string(node, key, v);
        if (ok) {
          if (v == "close") e.slow_consumer = SlowConsumerPolicy::close;
          else if (v == "drop") e.slow_consumer = SlowConsumerPolicy::drop;
          else ok = fail(key, "expected \"close\" or \"drop\"");
        }
      } else if (name == "route") {
        ok = routes(node, key, e.routes);
      } else if (name == "auth") {
        std::string v;
        ok = string(node, key, v);
        if (ok) {
          if (v == "none") e.auth = AuthMode::none;
          else if (v == "jwt") e.auth = AuthMode::jwt;
          else ok = fail(key, "expected \"jwt\" or \"none\"");
        }
      } else if (name == "token_sources") {
        std::vector<std::string> v;
        ok = strings(node, key, v);
        if (ok) {
          e.token_sources = 0;
          for (const std::string& src : v) {
            if (src == "query") e.token_sources |= kTokenQuery;
            else if (src == "header") e.token_sources |= kTokenHeader;
            else if (src == "protocol") e.token_sources |= kTokenProtocol;
            else ok = fail(key, "\"" + src + "\": expected \"query\", \"header\" or \"protocol\"");
          }
        }
      } else if (name == "token_param") {
        ok = string(node, key, e.token_param);
        if (ok && !plain_token(e.token_param)) ok = fail(key, "expected 1 to 64 of A-Z a-z 0-9 _ - .");
      } else if (name == "token_protocol_prefix") {
        ok = string(node, key, e.token_protocol_prefix);
        if (ok && !plain_token(e.token_protocol_prefix)) ok = fail(key, "expected 1 to 64 of A-Z a-z 0-9 _ - .");
      } else if (name == "connect_upstream") {
        ok = string(node, key, e.connect_upstream) && http_url(key, e.connect_upstream);
      } else if (name == "disconnect_upstream") {
        ok = string(node, key, e.disconnect_upstream) && http_url(key, e.disconnect_upstream);
      } else if (name == "hook_timeout_ms") {
        ok = integer(node, key, e.hook_timeout_ms, 1, 3600000);
      } else {
        ok = fail(key, "unknown key");
      }
      if (!ok) return false;
    }
    if (e.path.empty()) return fail(prefix + "path", "missing");
    if (e.path.find('{') != std::string::npos) {
      // A template: whole segments {tenant_id}, {agent_id}, {channel_id}.
      size_t pos = 0;
      while ((pos = e.path.find('{', pos)) != std::string::npos) {
        const size_t end = e.path.find('}', pos);
        const std::string_view param =
            end == std::string::npos ? std::string_view() : std::string_view(e.path).substr(pos + 1, end - pos - 1);
        if (param != "tenant_id" && param != "agent_id" && param != "channel_id")
          return fail(prefix + "path", "a template segment must be {tenant_id}, {agent_id} or {channel_id}");
        if (e.path[pos - 1] != '/' || (end + 1 < e.path.size() && e.path[end + 1] != '/'))
          return fail(prefix + "path", "a template parameter must be a whole path segment");
        pos = end + 1;
      }
      if (e.auth != AuthMode::jwt) return fail(prefix + "auth", "a path with parameters needs auth = \"jwt\"");
    }
    if (e.auth == AuthMode::jwt && e.token_sources == 0) return fail(prefix + "token_sources", "accepts no source");
    return true;
  }
};

}  // namespace

std::string parse_listen(std::string_view value, ServerConfig& out) {
  std::string_view host, port;
  if (!value.empty() && value[0] == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':')
      return "expected [ipv6]:port";
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    const size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) return "expected host:port";
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p > 65535 || port.empty())
    return "port must be a number from 0 to 65535";
  if (host.empty()) return "missing host";
  out.listen_host = std::string(host);
  out.listen_port = uint16_t(p);
  return {};
}

std::string parse_config(std::string_view toml_text, std::string_view source, Config& out) {
  toml::parse_result parsed = toml::parse(toml_text, source);
  if (!parsed) {
    const auto& err = parsed.error();
    std::ostringstream msg;
    msg << source << ":" << err.source().begin.line << ":" << err.source().begin.column << ": "
        << err.description();
    return msg.str();
  }
  const toml::table& root = parsed.table();
  Reader reader{source, {}, {}};
  Config cfg;
  bool endpoints_given = false;
  for (auto&& [k, node] : root) {
    const std::string_view name = k.str();
    if (name == "server") {
      const auto* t = node.as_table();
      if (!t) return std::string(source) + ": server: expected a table";
      if (!reader.server(*t, cfg.server)) return reader.error;
    } else if (name == "auth") {
      const auto* t = node.as_table();
      if (!t) return std::string(source) + ": auth: expected a table";
      if (!reader.auth(*t, cfg.auth)) return reader.error;
    } else if (name == "api") {
      const auto* t = node.as_table();
      if (!t) return std::string(source) + ": api: expected a table";
      if (!reader.api(*t, cfg.api)) return reader.error;
    } else if (name == "endpoint") {
      const auto* arr = node.as_array();
      if (!arr) return std::string(source) + ": endpoint: expected [[endpoint]] tables";
      endpoints_given = true;
      size_t i = 0;
      for (const auto& item : *arr) {
        const auto* t = item.as_table();
        if (!t) return std::string(source) + ": endpoint[" + std::to_string(i) + "]: expected a table";
        EndpointConfig e;
        if (!reader.endpoint(*t, i, e)) return reader.error;
        for (const auto& other : cfg.endpoints) {
          if (other.path == e.path)
            return std::string(source) + ": endpoint[" + std::to_string(i) + "].path: duplicate path " + e.path;
        }
        cfg.endpoints.push_back(std::move(e));
        ++i;
      }
    } else {
      return std::string(source) + ": " + std::string(name) + ": unknown key";
    }
  }
  if (!endpoints_given || cfg.endpoints.empty()) return std::string(source) + ": endpoint: at least one [[endpoint]] is required";
  cfg.unset_secret_envs = std::move(reader.unset_secret_envs);
  out = std::move(cfg);
  return {};
}

std::string load_config_file(const std::string& path, Config& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return path + ": cannot read the file";
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, out);
}

}  // namespace ringcast::app
