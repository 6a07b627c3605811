// `ringcast-load echo`: closed-loop echo load (see echo_worker.hpp).
#include "echo_mode.hpp"
#include "modes.hpp"

namespace load {

int mode_echo(int argc, char** argv) {
  EchoFlags f;
  uint64_t inflight = 1;
  std::vector<OptSpec> specs = f.specs({
      u64("--inflight", "K", "messages in flight per connection", &inflight, 1, 4096),
  });
  if (auto done = parse_command_line(
          "echo", specs, f.common, argc, argv,
          "Closed loop: every connection keeps K messages in flight; each echo is checked byte for\n"
          "byte and sends the next message. Reports messages/s, MB/s and latency percentiles.",
          "examples:\n"
          "  ringcast-load echo --url ws://127.0.0.1:8080/echo --connections 100 --size 16 --duration 5\n"
          "  ringcast-load echo --raw --url tcp://127.0.0.1:9000 --connections 50 --inflight 4\n"
          "  ringcast-load echo --messages 1000000 --binary --size 4096 --json"))
    return *done;
  EchoRunSpec s = f.run_spec();
  s.inflight = uint32_t(inflight);
  return run_echo_mode("echo", s, f.common);
}

}  // namespace load
