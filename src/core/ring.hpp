// The io_uring instance of one reactor: set up with the flags the engine
// depends on, checked once against the running kernel, and a get_sqe that
// never fails (it submits to make room).
#pragma once

#include <liburing.h>

#include <string>

namespace ringcast::core {

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // Must run on the thread that will submit (SINGLE_ISSUER). fixed_files is
  // the size of the sparse direct-descriptor table. Returns an empty string
  // or why the kernel cannot run the engine.
  std::string init(unsigned entries, unsigned fixed_files);

  // Tears the ring down: the kernel cancels what is in flight and lets go
  // of the memory those requests point at. Idempotent.
  void exit();

  io_uring* get() { return &ring_; }
  bool defer_taskrun() const { return defer_taskrun_; }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    while (!s) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

 private:
  io_uring ring_{};
  bool ready_ = false;
  bool defer_taskrun_ = false;
};

// Checks the running kernel for everything the engine needs, before any
// reactor starts. Returns an empty string or a message naming what is missing.
std::string check_kernel_support();

}  // namespace ringcast::core
