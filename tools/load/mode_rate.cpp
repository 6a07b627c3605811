// `ringcast-load rate`: open-loop echo load at a fixed total rate (see
// echo_worker.hpp for how sends are scheduled and why latency is taken from
// the intended send time).
#include "echo_mode.hpp"
#include "modes.hpp"

namespace load {

int mode_rate(int argc, char** argv) {
  EchoFlags f;
  double rate = 10000;
  uint64_t max_outstanding = 1024, late_us = 1000;
  std::vector<OptSpec> specs = f.specs({
      f64("--rate", "R", "messages per second in all, spread evenly over the connections", &rate, 1, 1e8),
      u64("--max-outstanding", "K", "echoes pending per connection before its sends wait (and turn late)",
          &max_outstanding, 1, 65536),
      u64("--late-threshold-us", "US", "a send this far behind its intended time counts as late", &late_us, 1,
          60'000'000),
  });
  if (auto done = parse_command_line(
          "rate", specs, f.common, argc, argv,
          "Open loop: sends at a fixed schedule whatever the server does. Latency is measured from\n"
          "the time each message was due, so a stall shows up as latency (no coordinated omission).\n"
          "Reports the achieved rate, late sends and latency percentiles.",
          "examples:\n"
          "  ringcast-load rate --rate 50000 --connections 100 --duration 10\n"
          "  ringcast-load rate --raw --url tcp://127.0.0.1:9000 --rate 100000 --json"))
    return *done;
  EchoRunSpec s = f.run_spec();
  s.rate = rate;
  s.max_outstanding = uint32_t(max_outstanding);
  s.late_ns = late_us * 1000;
  return run_echo_mode("rate", s, f.common);
}

}  // namespace load
