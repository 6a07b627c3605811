// Where the load goes: URL parsing, name resolution, the loopback guard.
//
// Accepted URLs: ws://host[:port][/path[?query]] (WebSocket),
// tcp://host:port (plain TCP, for --raw), http://host[:port]/path (only for
// --metrics-url). wss:// and https:// are refused: the tool speaks no TLS.
// IPv6 literals go in brackets (ws://[::1]:8080/echo).
//
// The guard: unless --allow-remote, the resolved address must be loopback
// (127.0.0.0/8, ::1, ::ffff:127.x.y.z), so a typo cannot aim a load test at
// somebody else's machine.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace load {

enum class Scheme { ws, tcp, http };

struct Target {
  Scheme scheme = Scheme::ws;
  std::string host;         // without brackets
  uint16_t port = 0;
  std::string path = "/";   // path and query, as sent in the request line
  std::string host_header;  // Host: value
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool loopback = false;
  bool ipv4 = false;
  std::string text;         // the URL as given, for messages and reports
};

// All return an empty string on success, else what is wrong.
std::string parse_url(std::string_view url, Target& out);
std::string resolve(Target& t);
// parse_url + resolve + the loopback guard, for a flag named `flag`.
std::string prepare_target(std::string_view flag, std::string_view url, bool allow_remote,
                           Target& out);
// prepare_target, for a URL that must be ws:// (connect, fanout, idle).
std::string prepare_ws_target(std::string_view flag, std::string_view url, bool allow_remote, Target& out);

}  // namespace load
