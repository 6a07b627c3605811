#include "worker_threads.hpp"

namespace load {

void WorkerThreads::wait_ready(const RunControl& rc, Progress* progress, uint64_t target_conns) const {
  while (rc.ready.load() < threads_.size()) {
    if (progress) progress->maybe_print(live, "setup", target_conns);
    sleep_ns(1'000'000);
  }
}

void WorkerThreads::join() {
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace load
