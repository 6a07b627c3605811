// `ringcast-load echo`: closed-loop echo load (see echo_worker.hpp).
#include "echo_report.hpp"
#include "echo_run.hpp"
#include "modes.hpp"
#include "options.hpp"

#include <cstdio>

namespace load {

int mode_echo(int argc, char** argv) {
  CommonOptions c;
  c.url = "ws://127.0.0.1:8080/echo";
  uint64_t connections = 100, size = 32, inflight = 1, messages = 0, max_connecting = 256;
  double duration = 10, warmup = 1, drain = 5;
  bool binary = false, raw = false;
  std::vector<OptSpec> specs = {
      str("--url", "URL", "ws://host:port/path, or tcp://host:port for a raw TCP echo", &c.url),
      u64("--connections", "N", "connections", &connections, 1, 1'000'000),
      u64("--size", "BYTES", "payload bytes per message", &size, 1, 64 << 20),
      flag("--binary", "binary frames with random bytes (default: text frames, ASCII payload)", &binary),
      flag("--raw", "plain TCP, no WebSocket: send BYTES, wait for BYTES back", &raw),
      u64("--inflight", "K", "messages in flight per connection", &inflight, 1, 4096),
      f64("--duration", "S", "measured seconds (after the warmup)", &duration, 0.01, 3600),
      u64("--messages", "M", "stop after M measured messages in all (0: no limit; first of the two wins)",
          &messages, 0, 1e12),
      f64("--warmup", "S", "seconds of load before measuring", &warmup, 0, 600),
      f64("--drain-timeout", "S", "wait at most this long for the last echoes and closes", &drain, 0.1, 120),
      u64("--max-connecting", "K", "handshakes in progress at once during setup", &max_connecting, 1, 65536),
  };
  add_common(specs, c);
  if (std::string err = parse_options(specs, argc, argv); !err.empty()) {
    std::fprintf(stderr, "ringcast-load echo: %s\n", err.c_str());
    return kExitUsage;
  }
  if (c.help) {
    print_help(stdout, "echo",
               "Closed loop: every connection keeps K messages in flight; each echo is checked byte for\n"
               "byte and sends the next message. Reports messages/s, MB/s and latency percentiles.",
               specs,
               "examples:\n"
               "  ringcast-load echo --url ws://127.0.0.1:8080/echo --connections 100 --size 16 --duration 5\n"
               "  ringcast-load echo --raw --url tcp://127.0.0.1:9000 --connections 50 --inflight 4\n"
               "  ringcast-load echo --messages 1000000 --binary --size 4096 --json");
    return kExitOk;
  }
  EchoRunSpec s;
  s.raw = raw;
  s.binary = binary;
  s.size = size;
  s.connections = uint32_t(connections);
  s.threads = unsigned(c.threads);
  s.inflight = uint32_t(inflight);
  s.messages = messages;
  s.warmup_s = warmup;
  s.duration_s = duration;
  s.drain_s = drain;
  s.max_connecting = uint32_t(max_connecting);
  s.quiet = c.quiet;
  s.server_pid = pid_t(c.server_pid);
  if (std::string err = prepare_echo(c.url, c.allow_remote, s); !err.empty()) {
    std::fprintf(stderr, "ringcast-load echo: %s\n", err.c_str());
    return kExitUsage;
  }
  EchoRunResult r = run_echo(s);
  Report rep = echo_report("echo", s, r);
  int rc = emit(rep, c.json);
  return r.setup_ok ? rc : kExitSetup;
}

}  // namespace load
