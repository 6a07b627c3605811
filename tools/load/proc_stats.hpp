// What the tool measures outside its own sockets: CPU time (its own through
// getrusage, the server's through /proc/PID/stat), the server's resident
// memory (/proc/PID/status VmRSS, or a Prometheus process_resident_memory_bytes
// line), and the open-files limit.
//
// CPU is reported as % of one core over a wall-clock window, so a run can show
// the load tool was not the bottleneck: if the tool sits well below 100% per
// thread while the server is near 100% of its cores, the server is measured.
#pragma once

#include "target.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace load {

struct CpuSample {
  double user_s = 0, sys_s = 0;
  uint64_t wall_ns = 0;
  bool ok = false;
};

struct CpuUse {
  double user_s = 0, sys_s = 0, wall_s = 0;
  bool ok = false;
  double percent() const { return wall_s > 0 ? 100.0 * (user_s + sys_s) / wall_s : 0; }
  CpuUse& operator+=(const CpuUse& o) {
    user_s += o.user_s;
    sys_s += o.sys_s;
    ok = ok || o.ok;
    return *this;
  }
};

CpuSample self_cpu();         // this process, all threads
CpuSample proc_cpu(pid_t pid);  // ok == false if /proc/PID/stat is unreadable
CpuUse cpu_between(const CpuSample& a, const CpuSample& b);

// VmRSS in bytes, or -1.
int64_t proc_rss_bytes(pid_t pid);

// GET `t` (http://, loopback already checked) with a 2 s timeout and read the
// first line starting with `metric` (no labels). Empty string on success.
std::string fetch_metric(const Target& t, const std::string& metric, double& out);

// Raises the soft RLIMIT_NOFILE to the hard one. Returns the new soft limit.
uint64_t raise_fd_limit();

// Brackets a window around a run: tool CPU always, server CPU and RSS when
// pid != 0.
struct Watch {
  pid_t server_pid = 0;
  CpuSample tool0, tool1, server0, server1;
  int64_t rss0 = -1, rss1 = -1;
  void begin();
  void end();
  CpuUse tool() const { return cpu_between(tool0, tool1); }
  CpuUse server() const { return cpu_between(server0, server1); }
};

}  // namespace load
