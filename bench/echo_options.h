// Command line of ringcast-echo-bench and the target it may load.
//
// The tool is bounded by construction: every numeric option has a hard cap
// below, and resolve() marks whether the target is loopback (127.0.0.0/8,
// ::1, ::ffff:127.x); main refuses anything else unless --allow-remote.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace bench {

inline constexpr uint32_t kMaxConnections = 50000;
inline constexpr double kMaxDuration = 600;
inline constexpr double kMaxWarmup = 60;
inline constexpr uint32_t kMaxInflight = 1024;
inline constexpr uint64_t kMaxSize = 64u << 20;
inline constexpr unsigned kMaxThreads = 64;
inline constexpr size_t kMaxPath = 1024;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/echo";
  uint32_t connections = 100;
  uint64_t size = 32;
  uint32_t inflight = 1;
  double duration = 10;
  double warmup = 2;
  unsigned threads = 1;
  bool binary = false;
  bool raw = false;
  bool json = false;
  bool allow_remote = false;
};

inline void usage(FILE* f) {
  std::fprintf(f,
      "usage: ringcast-echo-bench [--host 127.0.0.1] [--port 8080] [--path /echo]\n"
      "         [--connections 100] [--size 32] [--inflight 1] [--duration 10]\n"
      "         [--warmup 2] [--threads 1] [--binary] [--raw] [--json] [--allow-remote]\n"
      "Closed-loop echo load: each connection keeps `inflight` messages of `size`\n"
      "bytes outstanding. --raw: plain TCP echo, no WebSocket. Limits: connections\n"
      "<= %u, duration <= %.0f s, warmup <= %.0f s, inflight <= %u, size <= %llu,\n"
      "threads <= %u; loopback targets only unless --allow-remote.\n",
      kMaxConnections, kMaxDuration, kMaxWarmup, kMaxInflight,
      (unsigned long long)kMaxSize, kMaxThreads);
}

inline bool parse_uint(const char* s, uint64_t lo, uint64_t hi, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno || end == s || *end || *s == '-' || v < lo || v > hi) return false;
  out = v;
  return true;
}

inline bool parse_seconds(const char* s, double lo, double hi, double& out) {
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end == s || *end || !(v >= lo && v <= hi)) return false;
  out = v;
  return true;
}

// Returns an empty string on success, else what is wrong.
inline std::string parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string inline_value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != arg.npos) {
      inline_value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    bool has_inline = !inline_value.empty();
    auto flag = [&](bool& b) { b = true; return !has_inline; };
    const char* v = nullptr;
    auto value = [&]() -> const char* {
      if (has_inline) return v = inline_value.c_str();
      return v = (i + 1 < argc ? argv[++i] : nullptr);
    };
    uint64_t u = 0;
    bool ok = true;
    if (arg == "--help" || arg == "-h") { usage(stdout); std::exit(0); }
    else if (arg == "--binary") ok = flag(o.binary);
    else if (arg == "--raw") ok = flag(o.raw);
    else if (arg == "--json") ok = flag(o.json);
    else if (arg == "--allow-remote") ok = flag(o.allow_remote);
    else if (arg == "--host") ok = value() && (o.host = v, !o.host.empty());
    else if (arg == "--port") ok = value() && parse_uint(v, 1, 65535, u) && (o.port = v, true);
    else if (arg == "--path") ok = value() && v[0] == '/' && std::strlen(v) <= kMaxPath &&
                                   !std::strpbrk(v, " \r\n") && (o.path = v, true);
    else if (arg == "--connections") ok = value() && parse_uint(v, 1, kMaxConnections, u) && (o.connections = uint32_t(u), true);
    else if (arg == "--size") ok = value() && parse_uint(v, 1, kMaxSize, u) && (o.size = u, true);
    else if (arg == "--inflight") ok = value() && parse_uint(v, 1, kMaxInflight, u) && (o.inflight = uint32_t(u), true);
    else if (arg == "--threads") ok = value() && parse_uint(v, 1, kMaxThreads, u) && (o.threads = unsigned(u), true);
    else if (arg == "--duration") ok = value() && parse_seconds(v, 0.001, kMaxDuration, o.duration);
    else if (arg == "--warmup") ok = value() && parse_seconds(v, 0, kMaxWarmup, o.warmup);
    else return "unknown option " + std::string(arg);
    if (!ok) return "bad or missing value for " + std::string(arg) + (v ? std::string(": ") + v : "");
  }
  if (o.threads > o.connections) o.threads = o.connections;
  return {};
}

// ---------------------------------------------------------------- target

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool loopback = false;
  bool ipv4_loopback = false;
  std::string text;
};

inline std::string resolve(const Options& o, Target& t) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &res); rc != 0)
    return "cannot resolve " + o.host + ": " + gai_strerror(rc);
  std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
  t.len = res->ai_addrlen;
  freeaddrinfo(res);
  char buf[INET6_ADDRSTRLEN] = "?";
  if (t.addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&t.addr);
    t.loopback = t.ipv4_loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    t.text = std::string(buf) + ":" + o.port;
  } else if (t.addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&t.addr);
    const uint8_t* b = a->sin6_addr.s6_addr;
    t.loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                 (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && b[12] == 127);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    t.text = "[" + std::string(buf) + "]:" + o.port;
  } else {
    return "unsupported address family for " + o.host;
  }
  return {};
}

}  // namespace bench
