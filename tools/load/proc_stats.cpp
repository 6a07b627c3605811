#include "proc_stats.hpp"

#include "clock.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace load {

namespace {
double seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

bool read_file(const std::string& path, std::string& out) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return false;
  char buf[4096];
  size_t n;
  out.clear();
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return true;
}
}  // namespace

CpuSample self_cpu() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return {seconds(r.ru_utime), seconds(r.ru_stime), now_ns(), true};
}

CpuSample proc_cpu(pid_t pid) {
  CpuSample s;
  s.wall_ns = now_ns();
  std::string text;
  if (pid <= 0 || !read_file("/proc/" + std::to_string(pid) + "/stat", text)) return s;
  // The command name may hold spaces and parentheses: fields count from the
  // last ')'. utime and stime are fields 14 and 15 (11 and 12 after it).
  size_t close = text.rfind(')');
  if (close == std::string::npos) return s;
  const char* p = text.c_str() + close + 1;
  unsigned long long v[13] = {};
  int field = 0;
  while (*p && field < 13) {
    while (*p == ' ') ++p;
    char* end = nullptr;
    unsigned long long x = std::strtoull(p, &end, 10);
    if (end == p) {  // the state letter
      while (*p && *p != ' ') ++p;
    } else {
      p = end;
    }
    v[field++] = x;
  }
  if (field < 13) return s;
  const double tick = double(sysconf(_SC_CLK_TCK));
  s.user_s = double(v[11]) / tick;
  s.sys_s = double(v[12]) / tick;
  s.ok = true;
  return s;
}

CpuUse cpu_between(const CpuSample& a, const CpuSample& b) {
  CpuUse u;
  if (!a.ok || !b.ok) return u;
  u.user_s = b.user_s - a.user_s;
  u.sys_s = b.sys_s - a.sys_s;
  u.wall_s = double(b.wall_ns - a.wall_ns) / 1e9;
  u.ok = true;
  return u;
}

int64_t proc_rss_bytes(pid_t pid) {
  std::string text;
  if (pid <= 0 || !read_file("/proc/" + std::to_string(pid) + "/status", text)) return -1;
  size_t at = text.find("VmRSS:");
  if (at == std::string::npos) return -1;
  return int64_t(std::strtoll(text.c_str() + at + 6, nullptr, 10)) * 1024;
}

std::string fetch_metric(const Target& t, const std::string& metric, double& out) {
  int fd = socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket() failed";
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len) != 0) {
    std::string err = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return err;
  }
  std::string req = "GET " + t.path + " HTTP/1.1\r\nHost: " + t.host_header +
                    "\r\nConnection: close\r\nUser-Agent: ringcast-load\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) {
    ::close(fd);
    return "send failed";
  }
  std::string body;
  char buf[16384];
  ssize_t n;
  while (body.size() < (8u << 20) && (n = recv(fd, buf, sizeof buf, 0)) > 0) body.append(buf, size_t(n));
  ::close(fd);
  // Good enough for a text exposition: the first "name value" line, even in a
  // chunked body (chunk sizes sit on their own lines).
  for (size_t pos = 0; pos < body.size();) {
    size_t eol = body.find('\n', pos);
    if (eol == std::string::npos) eol = body.size();
    std::string_view line(body.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.starts_with(metric) && line.size() > metric.size() &&
        (line[metric.size()] == ' ' || line[metric.size()] == '\t')) {
      out = std::strtod(std::string(line.substr(metric.size())).c_str(), nullptr);
      return {};
    }
  }
  return "no " + metric + " line in the response";
}

uint64_t raise_fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

void Watch::begin() {
  tool0 = self_cpu();
  if (server_pid) {
    server0 = proc_cpu(server_pid);
    rss0 = proc_rss_bytes(server_pid);
  }
}

void Watch::end() {
  tool1 = self_cpu();
  if (server_pid) {
    server1 = proc_cpu(server_pid);
    rss1 = proc_rss_bytes(server_pid);
  }
}

}  // namespace load
