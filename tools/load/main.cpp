// ringcast-load: a WebSocket load generator on io_uring. Only wires: picks
// the mode; each mode parses its own flags (tools/load/README.md).
#include "modes.hpp"
#include "run_control.hpp"

#include <cstdio>
#include <cstring>

namespace {

constexpr const char* kUsage =
    "usage: ringcast-load <mode> [options]     (ringcast-load <mode> --help for the options)\n"
    "\n"
    "modes:\n"
    "  echo     closed loop: N connections, K messages in flight each; verifies every echo\n"
    "           (--raw: plain TCP echo)\n"
    "  rate     open loop at a fixed total rate; latency from the intended send time\n"
    "  fanout   publishers -> channels -> subscribers (ringcast envelope protocol);\n"
    "           end-to-end latency, gaps, reorders, losses\n"
    "  connect  handshakes per second and connect latency\n"
    "  idle     hold N upgraded connections (many processes, 127.0.0.X sources);\n"
    "           the server's RSS per connection\n"
    "  api-publish  publishes through the server API on one keep-alive HTTP connection\n"
    "           (pipelined), checked by WebSocket subscribers; publishes/s, deliveries/s\n"
    "  request  closed loop of JSON requests on a routed endpoint (handler or upstream);\n"
    "           requests/s, latency, error answers\n"
    "\n"
    "Targets must be loopback addresses unless --allow-remote. Every run is bounded.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? load::kExitUsage : load::kExitOk;
  }
  load::install_signal_handlers();
  struct { const char* name; int (*run)(int, char**); } modes[] = {
      {"echo", load::mode_echo},       {"rate", load::mode_rate}, {"fanout", load::mode_fanout},
      {"connect", load::mode_connect}, {"idle", load::mode_idle},
      {"api-publish", load::mode_api_publish}, {"request", load::mode_request},
  };
  for (auto& m : modes)
    if (!std::strcmp(argv[1], m.name)) return m.run(argc - 1, argv + 1);
  std::fprintf(stderr, "ringcast-load: unknown mode '%s'\n\n%s", argv[1], kUsage);
  return load::kExitUsage;
}
