// What the echo and rate modes share (mode_echo.cpp, mode_rate.cpp): the
// flags both take, and the run once they are parsed: resolve the URL, run
// the workers (echo_run.hpp), print the report (echo_report.hpp).
#pragma once

#include "echo_run.hpp"
#include "options.hpp"

#include <vector>

namespace load {

// The flags both modes take; the initial values are the defaults.
struct EchoFlags {
  CommonOptions common;  // --url defaults to ws://127.0.0.1:8080/echo
  uint64_t connections = 100, size = 32, messages = 0, max_connecting = 256;
  double duration = 10, warmup = 1, drain = 5;
  bool binary = false, raw = false;

  EchoFlags() { common.url = "ws://127.0.0.1:8080/echo"; }
  EchoFlags(const EchoFlags&) = delete;  // specs() points into it

  // The rows in --help order, with the mode's own rows after --raw.
  std::vector<OptSpec> specs(std::vector<OptSpec> own);
  // A run spec with these flags in it; the mode adds its loop's own fields.
  EchoRunSpec run_spec() const;
};

// Resolves --url into `s`, runs and prints the report; the exit status.
int run_echo_mode(const char* mode, EchoRunSpec& s, const CommonOptions& c);

}  // namespace load
