#include "core/ring.hpp"

#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ringcast::core {

namespace {

struct RequiredOp {
  int op;
  const char* name;
};

constexpr RequiredOp kRequiredOps[] = {
    {IORING_OP_ACCEPT, "IORING_OP_ACCEPT"},     {IORING_OP_RECV, "IORING_OP_RECV"},
    {IORING_OP_SENDMSG, "IORING_OP_SENDMSG"},   {IORING_OP_SHUTDOWN, "IORING_OP_SHUTDOWN"},
    {IORING_OP_CLOSE, "IORING_OP_CLOSE"},       {IORING_OP_READ, "IORING_OP_READ"},
    {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"},
};

}  // namespace

std::string check_kernel_support() {
  // Multishot recv with provided-buffer rings arrived in 6.0; there is no
  // probe bit for it, so the version is the check.
  utsname u;
  if (uname(&u) == 0) {
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    if (major < 6) {
      return std::string("Linux ") + u.release +
             " is too old: ringcast needs 6.0 or later (io_uring multishot recv with provided buffer rings)";
    }
  }
  io_uring_probe* probe = io_uring_get_probe();
  if (!probe) return "io_uring is not available (io_uring_setup failed: disabled by sysctl kernel.io_uring_disabled or seccomp?)";
  std::string missing;
  for (const auto& r : kRequiredOps) {
    if (!io_uring_opcode_supported(probe, r.op)) {
      if (!missing.empty()) missing += ", ";
      missing += r.name;
    }
  }
  io_uring_free_probe(probe);
  if (!missing.empty()) return "the kernel's io_uring lacks " + missing;
  return {};
}

Ring::~Ring() { exit(); }

void Ring::exit() {
  if (!ready_) return;
  io_uring_queue_exit(&ring_);
  ready_ = false;
}

std::string Ring::init(unsigned entries, unsigned fixed_files) {
  io_uring_params p;
  std::memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_CQSIZE;
  p.cq_entries = entries * 4;
  int ret = io_uring_queue_init_params(entries, &ring_, &p);
  if (ret == -EINVAL) {
    // Before 6.1: task work runs cooperatively instead of only when we wait.
    std::memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
              IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    ret = io_uring_queue_init_params(entries, &ring_, &p);
  } else if (ret == 0) {
    defer_taskrun_ = true;
  }
  if (ret < 0) return std::string("io_uring_queue_init failed: ") + std::strerror(-ret);
  ready_ = true;
  const unsigned need = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG | IORING_FEAT_FAST_POLL;
  if ((p.features & need) != need) {
    return "the kernel's io_uring lacks IORING_FEAT_NODROP, IORING_FEAT_EXT_ARG or IORING_FEAT_FAST_POLL";
  }
  ret = io_uring_register_files_sparse(&ring_, fixed_files);
  if (ret < 0) {
    return std::string("io_uring_register_files_sparse(") + std::to_string(fixed_files) +
           ") failed: " + std::strerror(-ret);
  }
  return {};
}

}  // namespace ringcast::core
