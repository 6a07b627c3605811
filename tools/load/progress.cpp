#include "progress.hpp"

#include "clock.hpp"
#include "run_control.hpp"

#include <unistd.h>

#include <cstdio>

namespace load {

namespace {
volatile sig_atomic_t g_interrupts = 0;
void on_signal(int) { g_interrupts = g_interrupts + 1; }

// 1234567 -> "1.23M": the line has to stay short.
const char* human(double v, char* buf, size_t n) {
  if (v >= 1e9) std::snprintf(buf, n, "%.2fG", v / 1e9);
  else if (v >= 1e6) std::snprintf(buf, n, "%.2fM", v / 1e6);
  else if (v >= 1e4) std::snprintf(buf, n, "%.1fk", v / 1e3);
  else std::snprintf(buf, n, "%.0f", v);
  return buf;
}
}  // namespace

void install_signal_handlers() {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupts() { return g_interrupts; }

LiveTotals sum_live(const std::vector<const Live*>& blocks) {
  LiveTotals t;
  for (const Live* b : blocks) {
    t.open += b->open.get();
    t.handshakes += b->handshakes.get();
    t.failures += b->failures.get();
    t.sent += b->sent.get();
    t.done += b->done.get();
    t.errors += b->errors.get();
  }
  return t;
}

void Progress::maybe_print(const std::vector<const Live*>& blocks, const char* phase, uint64_t target_conns) {
  const uint64_t now = now_ns();
  if (t0_ == 0) {
    t0_ = last_ = now;
    prev_ = sum_live(blocks);
    return;
  }
  if (quiet_ || now - last_ < 1'000'000'000) return;
  LiveTotals t = sum_live(blocks);
  const double dt = double(now - last_) / 1e9;
  char a[32], b[32], c[32], d[32];
  char line[256];
  int n = std::snprintf(line, sizeof line, "[%6.1fs] %-5s open %s/%llu", double(now - t0_) / 1e9, phase,
                        human(double(t.open), a, sizeof a), (unsigned long long)target_conns);
  if (sent_label_)
    n += std::snprintf(line + n, sizeof line - size_t(n), "  %s %s/s", sent_label_,
                       human(double(t.sent - prev_.sent) / dt, b, sizeof b));
  if (done_label_)
    n += std::snprintf(line + n, sizeof line - size_t(n), "  %s %s/s (total %s)", done_label_,
                       human(double(t.done - prev_.done) / dt, c, sizeof c), human(double(t.done), d, sizeof d));
  std::snprintf(line + n, sizeof line - size_t(n), "  failed %llu  errors %llu",
                (unsigned long long)t.failures, (unsigned long long)t.errors);
  // On a terminal, rewrite one line; into a file, one line per second.
  std::fprintf(stderr, isatty(2) ? "\r%-100s" : "%s\n", line);
  std::fflush(stderr);
  printed_ = true;
  prev_ = t;
  last_ = now;
}

void Progress::finish_line() {
  if (printed_ && isatty(2)) std::fputc('\n', stderr);
  printed_ = false;
}

}  // namespace load
