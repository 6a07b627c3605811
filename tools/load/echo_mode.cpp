#include "echo_mode.hpp"

#include "echo_report.hpp"
#include "modes.hpp"

namespace load {

std::vector<OptSpec> EchoFlags::specs(std::vector<OptSpec> own) {
  std::vector<OptSpec> s = {
      str("--url", "URL", "ws://host:port/path, or tcp://host:port for a raw TCP echo", &common.url),
      u64("--connections", "N", "connections", &connections, 1, 1'000'000),
      u64("--size", "BYTES", "payload bytes per message", &size, 1, 64 << 20),
      flag("--binary", "binary frames with random bytes (default: text frames, ASCII payload)", &binary),
      flag("--raw", "plain TCP, no WebSocket: send BYTES, wait for BYTES back", &raw),
  };
  s.insert(s.end(), own.begin(), own.end());
  s.insert(s.end(), {
      f64("--duration", "S", "measured seconds (after the warmup)", &duration, 0.01, 3600),
      u64("--messages", "M", "stop after M measured messages in all (0: no limit; first of the two wins)",
          &messages, 0, 1e12),
      f64("--warmup", "S", "seconds of load before measuring", &warmup, 0, 600),
      f64("--drain-timeout", "S", "wait at most this long for the last echoes and closes", &drain, 0.1, 120),
      u64("--max-connecting", "K", "handshakes in progress at once during setup", &max_connecting, 1, 65536),
  });
  return s;
}

EchoRunSpec EchoFlags::run_spec() const {
  EchoRunSpec s;
  s.raw = raw;
  s.binary = binary;
  s.size = size;
  s.connections = uint32_t(connections);
  s.threads = unsigned(common.threads);
  s.messages = messages;
  s.warmup_s = warmup;
  s.duration_s = duration;
  s.drain_s = drain;
  s.max_connecting = uint32_t(max_connecting);
  s.quiet = common.quiet;
  s.server_pid = pid_t(common.server_pid);
  return s;
}

int run_echo_mode(const char* mode, EchoRunSpec& s, const CommonOptions& c) {
  if (std::string err = prepare_echo(c.url, c.allow_remote, s); !err.empty()) return usage_error(mode, err);
  EchoRunResult r = run_echo(s);
  const int rc = emit(echo_report(mode, s, r), c.json);
  return r.setup_ok ? rc : kExitSetup;
}

}  // namespace load
