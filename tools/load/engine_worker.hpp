// What the load modes' WebSocket workers (echo, request, fanout) share: one
// Engine over this thread's connections, the figures main reads once the
// thread has joined, and the pieces of setup, of the end of run() and of the
// per-connection error accounting that are the same in every mode.
//
// "connection N" in messages counts over every thread: N = first_conn + the
// engine's index.
#pragma once

#include "engine.hpp"
#include "histogram.hpp"
#include "open_all.hpp"
#include "run_control.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace load {

class EngineWorker : public EngineHandler {
 public:
  Live live;
  Histogram hist;
  EngineStats engine_stats;  // copied when the run is over
  std::string setup_error;

 protected:
  EngineWorker(const EngineConfig& cfg, RunControl& rc, uint32_t first_conn = 0)
      : rc_(rc), engine_(cfg, *this, live), first_conn_(first_conn) {}

  // setup()'s first step. False (setup_error says why) when the engine
  // cannot start.
  bool init_engine() {
    setup_error = engine_.init();
    return setup_error.empty();
  }

  // setup()'s last step when "ready" means upgraded: open_all() over `conns`
  // connections, with the usual timeout message.
  bool open_upgraded(uint32_t conns, uint64_t timeout_ns) {
    return open_all(engine_, conns, setup_, rc_, now_ns() + timeout_ns, setup_error, [&] {
      return "setup timed out: " + std::to_string(setup_.ready) + " of " + std::to_string(conns) +
             " connections of this thread upgraded";
    });
  }

  // The end of run(): whatever is open is closed and the engine's stats kept.
  void stop_engine() {
    engine_.shutdown();
    engine_stats = engine_.stats;
  }

  // stop_engine(), then the engine's first error becomes `first_error` when
  // none was kept and the run had begun, and the worker counts finished.
  void end_run(std::string& first_error, bool run_began) {
    stop_engine();
    if (first_error.empty() && !engine_stats.first_error.empty() && run_began)
      first_error = engine_stats.first_error;
    rc_.finished.fetch_add(1);
  }

  // "connection N: why" into `first_error` unless one is kept already.
  void keep_first(std::string& first_error, uint32_t index, std::string_view why) const {
    if (first_error.empty())
      first_error = "connection " + std::to_string(first_conn_ + index) + ": " + std::string(why);
  }

  // A protocol error on `c`: counted live, kept, the connection aborted.
  void fail(Conn& c, std::string& first_error, const std::string& why) {
    live.errors.add();
    keep_first(first_error, c.index, why);
    engine_.abort(c, EndKind::failed, "protocol error");
  }

  // The server closed `c` while the run was on.
  void server_closed(const Conn& c, std::string& first_error, uint16_t code) const {
    keep_first(first_error, c.index, "server sent close " + std::to_string(code) + " during the run");
  }

  // A connection that ended after setup: one lost (counted in `conns_lost`,
  // its reason kept) if it failed, the server closed it, or it ended
  // uncleanly while the run was still on.
  void count_lost(const Conn& c, EndKind kind, const char* why, bool running, uint64_t& conns_lost,
                  std::string& first_error) const {
    if (kind == EndKind::failed || kind == EndKind::server_closed || (kind == EndKind::unclean && running)) {
      ++conns_lost;
      if (why) keep_first(first_error, c.index, why);
    }
  }

  // A connection's `outstanding` messages that will never be answered: added
  // to `lost` and to the live errors, then zero.
  void drop_outstanding(uint32_t& outstanding, uint64_t& lost) {
    lost += outstanding;
    if (outstanding) live.errors.add(outstanding);
    outstanding = 0;
  }

  // The drain deadline: every connection of the first `conns` still up is
  // aborted; the first with `outstanding(i)` > 0 is kept as "N <what> still
  // missing at the drain deadline".
  template <class F>
  void abort_at_deadline(uint32_t conns, std::string& first_error, const char* what, F outstanding) {
    for (uint32_t i = 0; i < conns; ++i) {
      Conn& c = engine_.conn(i);
      if (c.state == ConnState::done || c.state == ConnState::free) continue;
      if (const uint32_t n = outstanding(i))
        keep_first(first_error, i, std::to_string(n) + " " + what + " still missing at the drain deadline");
      engine_.abort(c, EndKind::unclean, "drain deadline passed");
    }
  }

  RunControl& rc_;
  Engine engine_;
  SetupTally setup_;
  const uint32_t first_conn_;
};

}  // namespace load
