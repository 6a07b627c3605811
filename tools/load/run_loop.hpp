// Main's side of a run in the publish/deliver modes (fanout, api-publish),
// once every worker is set up: the start time, the wait for publishing to
// end and every subscriber worker to drain, the drain timeout, a hard stop,
// and interrupts (the first pulls the end in to now, then drains; the next
// stops). The cross-thread rules are mode_fanout.cpp's.
#pragma once

#include "fanout_worker.hpp"
#include "live.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "run_control.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace load {

// The options that end both modes' lists: --duration, --drain-timeout,
// --max-connecting.
void add_run_options(std::vector<OptSpec>& specs, double& duration, double& drain, uint64_t& max_connecting);

// Returns once `n` workers are ready (set up, or failed to), showing the
// "setup" progress line of `live` out of `conns` meanwhile (for workers on
// more than one WorkerThreads; one pool has WorkerThreads::wait_ready).
void wait_ready(const RunControl& rc, uint32_t n, Progress& progress, const std::vector<const Live*>& live,
                uint64_t conns);

struct PublishRunSpec {
  uint32_t members = 0;     // workers counted in ready, finished and pubs_done
  uint32_t subscribers = 0; // of them, those counted in drained
  bool setup_ok = true;     // false: stop at once
  double duration_s = 0;    // publishing ends after this at the latest
  double drain_s = 0;       // then at most this for the deliveries
  const std::vector<const Live*>* live = nullptr;  // for the progress line
  uint64_t conns = 0;       // connections in all, for the progress line
};

struct PublishRunResult {
  uint64_t start = 0;  // the workers' start time
  bool interrupted = false, drain_timed_out = false;
};

// Starts the run 2 ms from now (watch begins), sets rc.stop when the run is
// over (watch ends), prints progress until every member has finished, then
// calls `join` (the threads) before ending the progress line; `watch` ends
// after `join` instead when the members finished on their own.
PublishRunResult run_publish(const PublishRunSpec& spec, RunControl& rc, FanoutShared& shared, Watch& watch,
                             Progress& progress, const std::function<void()>& join);

// The subscriber workers' figures once they have joined: stats, engine stats
// and latencies added up, and the first setup error.
struct FanoutTotals {
  FanoutStats stats;
  EngineStats engine;
  std::unique_ptr<Histogram> hist;
  std::string setup_error;
};
FanoutTotals add_up(const std::vector<std::unique_ptr<FanoutWorker>>& workers);

// The subscribers' part of the "result" section, expected_deliveries to
// oversize_ignored (with pairs_with_problems when `per_pair`: the problems
// are per subscriber and publisher). Returns the deliveries lost.
uint64_t delivery_results(Report::Section& res, const FanoutStats& st, uint64_t start, bool per_pair);

// The "problem_pairs" section, when any: "subS" (per_pair: "subS_pubP") ->
// the channel and what went wrong.
void problem_pairs(Report& rep, const FanoutStats& st, bool per_pair);

// The deliveries' problems: `lost` ones (as `lost_what`), gaps, reorders,
// duplicates, misrouted.
void delivery_problems(Report& rep, const FanoutStats& st, uint64_t lost, const char* lost_what);

}  // namespace load
