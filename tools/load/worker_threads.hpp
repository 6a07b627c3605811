// A run's worker threads, as the main thread sees them: one thread per
// worker (it calls W::run(), which counts itself ready in RunControl after
// its setup), the workers' Live blocks for the progress line, and the wait
// for every setup to be over.
#pragma once

#include "live.hpp"
#include "progress.hpp"
#include "run_control.hpp"

#include <memory>
#include <thread>
#include <vector>

namespace load {

class WorkerThreads {
 public:
  template <class W>
  explicit WorkerThreads(const std::vector<std::unique_ptr<W>>& workers) {
    for (const auto& w : workers) live.push_back(&w->live);
    for (const auto& w : workers) threads_.emplace_back([p = w.get()] { p->run(); });
  }
  ~WorkerThreads() { join(); }
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;

  // Returns once every worker is ready (set up, or failed to); meanwhile
  // `progress`, if any, shows the "setup" line out of `target_conns`.
  void wait_ready(const RunControl& rc, Progress* progress, uint64_t target_conns) const;
  void join();

  std::vector<const Live*> live;  // one block per worker

 private:
  std::vector<std::thread> threads_;
};

}  // namespace load
