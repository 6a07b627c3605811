// `ringcast-load rate`: open-loop echo load at a fixed total rate (see
// echo_worker.hpp for how sends are scheduled and why latency is taken from
// the intended send time).
#include "echo_report.hpp"
#include "echo_run.hpp"
#include "modes.hpp"
#include "options.hpp"

#include <cstdio>

namespace load {

int mode_rate(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/echo";
  uint64_t connections = 100, size = 32, messages = 0, max_outstanding = 1024, late_us = 1000,
           max_connecting = 256;
  double rate = 10000, duration = 10, warmup = 1, drain = 5;
  bool binary = false, raw = false;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "ws://host:port/path, or tcp://host:port for a raw TCP echo", &c.url),
      f64("--rate", "R", "messages per second in all, spread evenly over the connections", &rate, 1, 1e8),
      u64("--connections", "N", "connections", &connections, 1, 1'000'000),
      u64("--size", "BYTES", "payload bytes per message", &size, 1, 64 << 20),
      flag("--binary", "binary frames with random bytes (default: text frames, ASCII payload)", &binary),
      flag("--raw", "plain TCP, no WebSocket", &raw),
      u64("--max-outstanding", "K", "echoes pending per connection before its sends wait (and turn late)",
          &max_outstanding, 1, 65536),
      u64("--late-threshold-us", "US", "a send this far behind its intended time counts as late", &late_us, 1,
          60'000'000),
      f64("--duration", "S", "measured seconds (after the warmup)", &duration, 0.01, 3600),
      u64("--messages", "M", "stop after M measured sends in all (0: no limit; first of the two wins)",
          &messages, 0, 1e12),
      f64("--warmup", "S", "seconds at the rate before measuring", &warmup, 0, 600),
      f64("--drain-timeout", "S", "wait at most this long for the last echoes and closes", &drain, 0.1, 120),
      u64("--max-connecting", "K", "handshakes in progress at once during setup", &max_connecting, 1, 65536),
  };
  add_common(specs, c);
  if (std::string err = parse_options(specs, argc, argv); !err.empty()) {
    std::fprintf(stderr, "ringcast-load rate: %s\n", err.c_str());
    return kExitUsage;
  }
  if (c.help) {
    print_help(stdout, "rate",
               "Open loop: sends at a fixed schedule whatever the server does. Latency is measured from\n"
               "the time each message was due, so a stall shows up as latency (no coordinated omission).\n"
               "Reports the achieved rate, late sends and latency percentiles.",
               specs,
               "examples:\n"
               "  ringcast-load rate --rate 50000 --connections 100 --duration 10\n"
               "  ringcast-load rate --raw --url tcp://127.0.0.1:9000 --rate 100000 --json");
    return kExitOk;
  }
  EchoRunSpec s;
  s.raw = raw;
  s.binary = binary;
  s.size = size;
  s.connections = uint32_t(connections);
  s.threads = unsigned(c.threads);
  s.rate = rate;
  s.max_outstanding = uint32_t(max_outstanding);
  s.late_ns = late_us * 1000;
  s.messages = messages;
  s.warmup_s = warmup;
  s.duration_s = duration;
  s.drain_s = drain;
  s.max_connecting = uint32_t(max_connecting);
  s.quiet = c.quiet;
  s.server_pid = pid_t(c.server_pid);
  if (std::string err = prepare_echo(c.url, c.allow_remote, s); !err.empty()) {
    std::fprintf(stderr, "ringcast-load rate: %s\n", err.c_str());
    return kExitUsage;
  }
  EchoRunResult r = run_echo(s);
  Report rep = echo_report("rate", s, r);
  int rc = emit(rep, c.json);
  return r.setup_ok ? rc : kExitSetup;
}

}  // namespace load
