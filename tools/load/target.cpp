#include "target.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace load {

std::string parse_url(std::string_view url, Target& out) {
  out = Target{};
  out.text = std::string(url);
  size_t sep = url.find("://");
  if (sep == url.npos) return "URL must start with ws://, tcp:// or http://";
  std::string_view scheme = url.substr(0, sep), rest = url.substr(sep + 3);
  uint16_t default_port = 0;
  if (scheme == "ws") {
    out.scheme = Scheme::ws;
    default_port = 80;
  } else if (scheme == "tcp") {
    out.scheme = Scheme::tcp;
  } else if (scheme == "http") {
    out.scheme = Scheme::http;
    default_port = 80;
  } else if (scheme == "wss" || scheme == "https") {
    return "TLS (" + std::string(scheme) + "://) is not supported";
  } else {
    return "unknown URL scheme '" + std::string(scheme) + "'";
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != rest.npos) out.path = std::string(rest.substr(slash));
  std::string_view port_text;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == authority.npos) return "unclosed '[' in URL host";
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "junk after ']' in URL host";
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != authority.npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return "URL has no host";
  if (port_text.empty()) {
    if (default_port == 0) return "tcp:// URL needs a port";
    out.port = default_port;
  } else {
    unsigned v = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || v > 65535) return "bad port in URL";
      v = v * 10 + unsigned(c - '0');
    }
    if (v == 0 || v > 65535) return "bad port in URL";
    out.port = uint16_t(v);
  }
  bool v6 = out.host.find(':') != std::string::npos;
  out.host_header = (v6 ? "[" + out.host + "]" : out.host) + ":" + std::to_string(out.port);
  return {};
}

std::string resolve(Target& t) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  std::string port = std::to_string(t.port);
  int rc = getaddrinfo(t.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return "cannot resolve " + t.host + ": " + gai_strerror(rc);
  // Prefer IPv4: "localhost" then lands on 127.0.0.1, where the source
  // address spreading of the idle mode works.
  addrinfo* pick = res;
  for (addrinfo* a = res; a; a = a->ai_next)
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
  std::memcpy(&t.addr, pick->ai_addr, pick->ai_addrlen);
  t.addr_len = pick->ai_addrlen;
  freeaddrinfo(res);
  if (t.addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&t.addr);
    t.ipv4 = true;
    t.loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&t.addr);
    const uint8_t* b = a->sin6_addr.s6_addr;
    t.loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) || (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && b[12] == 127);
  }
  return {};
}

std::string prepare_target(std::string_view flag, std::string_view url, bool allow_remote,
                           Target& out) {
  std::string err = parse_url(url, out);
  if (err.empty()) err = resolve(out);
  if (err.empty() && !out.loopback && !allow_remote)
    err = out.host + " is not a loopback address (127.0.0.0/8, ::1); pass --allow-remote to load it anyway";
  if (!err.empty()) return std::string(flag) + " " + std::string(url) + ": " + err;
  return {};
}

std::string prepare_ws_target(std::string_view flag, std::string_view url, bool allow_remote, Target& out) {
  if (std::string err = prepare_target(flag, url, allow_remote, out); !err.empty()) return err;
  if (out.scheme != Scheme::ws) return std::string(flag) + " must be ws://";
  return {};
}

}  // namespace load
