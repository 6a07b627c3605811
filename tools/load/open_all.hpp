// The setup phase of a worker that needs all its connections: start them
// (the engine keeps at most max_connecting handshakes in progress) and poll
// until the mode counts every one ready, giving up as soon as one fails,
// another worker's setup fails, a signal arrives or the deadline passes.
#pragma once

#include "engine.hpp"
#include "run_control.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace load {

// What the mode's EngineHandler callbacks count inside poll() while
// open_all() runs. "Ready" is whatever the mode needs from a connection
// (upgraded; subscribed): its callbacks bump `ready` themselves.
struct SetupTally {
  uint32_t ready = 0, failed = 0;
  // For on_closed() during setup: a failed connection counts (and stops
  // open_all()); the first reason goes to `error`.
  void on_closed(const Engine& engine, EndKind kind, const char* why, std::string& error) {
    if (kind != EndKind::failed) return;
    ++failed;
    if (error.empty() && why) error = engine.stats.first_error.empty() ? why : engine.stats.first_error;
  }
};

// Connections 0 .. n-1. True when all n are ready. Else `error` says why,
// unless a callback already set it: `timed_out()` past the deadline, else
// the engine's first error, the interrupt, or another thread's failure.
bool open_all(Engine& engine, uint32_t n, const SetupTally& tally, const RunControl& rc, uint64_t deadline_ns,
              std::string& error, const std::function<std::string()>& timed_out);

}  // namespace load
