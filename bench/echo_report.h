// What ringcast-echo-bench measured, and how it prints it (table or --json).
//
// Definitions: messages = echoes completed inside the measured window (after
// warmup), verified byte for byte; MB/s = messages/s x size (payload, one
// direction, 10^6 B); latency = from queuing a message for send to parsing
// the last byte of its echo, closed loop, from a LatencyHistogram (upper
// bucket edge, < 0.79% over); cpu = getrusage(RUSAGE_SELF) over the window.
#pragma once

#include "latency_histogram.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bench {

struct Counters {
  uint64_t messages = 0;           // completed in the measured window
  uint64_t mismatches = 0;         // echo differs from what was sent
  uint64_t protocol_errors = 0;    // bad framing / handshake from the server
  uint64_t connection_errors = 0;  // socket error or unexpected close
  uint64_t lost = 0;               // outstanding when a connection died or timed out
  uint64_t unclean_closes = 0;     // close handshake not finished in time
  uint64_t pings = 0;              // server pings answered (or skipped while closing)
  uint64_t errors() const { return mismatches + protocol_errors + connection_errors + lost; }
  void add(const Counters& o) {
    messages += o.messages; mismatches += o.mismatches; protocol_errors += o.protocol_errors;
    connection_errors += o.connection_errors; lost += o.lost;
    unclean_closes += o.unclean_closes; pings += o.pings;
  }
};

struct Report {
  const char* mode;        // ws-text, ws-binary, raw
  std::string target;      // host:port[/path]
  uint32_t connections, inflight;
  uint64_t size;
  unsigned threads;
  std::string ring;        // io_uring setup flags that worked
  double warmup_s, window_s;
  Counters counters;
  LatencyHistogram hist;
  double cpu_user_s, cpu_sys_s, cpu_wall_s;
  std::string first_error;

  double rate() const { return window_s > 0 ? double(counters.messages) / window_s : 0; }
  double mbps() const { return rate() * double(size) / 1e6; }
  double cores() const { return cpu_wall_s > 0 ? (cpu_user_s + cpu_sys_s) / cpu_wall_s : 0; }
  double us(double q) const { return double(hist.percentile(q)) / 1e3; }
};

inline std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += uint8_t(ch) < 0x20 ? ' ' : ch;
  }
  return out;
}

inline void print_json(const Report& r, FILE* f) {
  using ull = unsigned long long;
  const Counters& c = r.counters;
  std::fprintf(f,
      "{\"mode\":\"%s\",\"target\":\"%s\",\"connections\":%u,\"inflight\":%u,\"size\":%llu,"
      "\"threads\":%u,\"ring\":\"%s\",\"warmup_s\":%.3f,\"window_s\":%.3f,\"messages\":%llu,"
      "\"messages_per_s\":%.1f,\"mb_per_s\":%.3f,\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,"
      "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},\"latency_precision_pct\":%.2f,"
      "\"errors\":%llu,\"mismatches\":%llu,\"protocol_errors\":%llu,\"connection_errors\":%llu,"
      "\"lost\":%llu,\"unclean_closes\":%llu,\"pings\":%llu,"
      "\"cpu\":{\"user_s\":%.3f,\"sys_s\":%.3f,\"cores\":%.3f,\"per_thread\":%.3f}",
      r.mode, json_escape(r.target).c_str(), r.connections, r.inflight, ull(r.size), r.threads,
      r.ring.c_str(), r.warmup_s, r.window_s, ull(c.messages), r.rate(), r.mbps(), r.us(0.5),
      r.us(0.9), r.us(0.99), r.us(0.999), double(r.hist.max()) / 1e3, r.hist.mean() / 1e3,
      LatencyHistogram::kRelativePrecision * 100, ull(c.errors()), ull(c.mismatches),
      ull(c.protocol_errors), ull(c.connection_errors), ull(c.lost), ull(c.unclean_closes),
      ull(c.pings), r.cpu_user_s, r.cpu_sys_s, r.cores(), r.cores() / r.threads);
  if (!r.first_error.empty()) std::fprintf(f, ",\"first_error\":\"%s\"", json_escape(r.first_error).c_str());
  std::fprintf(f, "}\n");
}

inline void print_table(const Report& r, FILE* f) {
  using ull = unsigned long long;
  const Counters& c = r.counters;
  std::fprintf(f, "ringcast-echo-bench  %s %s  %u conn x %u inflight  %llu B  %u thread(s)  ring %s\n",
               r.mode, r.target.c_str(), r.connections, r.inflight, ull(r.size), r.threads, r.ring.c_str());
  std::fprintf(f, "window         %.3f s (after %.3f s warmup)\n", r.window_s, r.warmup_s);
  std::fprintf(f, "messages       %llu\n", ull(c.messages));
  std::fprintf(f, "messages/s     %.0f\n", r.rate());
  std::fprintf(f, "MB/s           %.3f  (payload echoed, one direction, 1 MB = 10^6 B)\n", r.mbps());
  std::fprintf(f, "latency us     p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f"
               "  (closed loop, +%.2f%% bucket precision)\n",
               r.us(0.5), r.us(0.9), r.us(0.99), r.us(0.999), double(r.hist.max()) / 1e3,
               r.hist.mean() / 1e3, LatencyHistogram::kRelativePrecision * 100);
  std::fprintf(f, "errors         %llu  (mismatch %llu, protocol %llu, connection %llu, lost %llu)"
               "  unclean closes %llu  pings %llu\n",
               ull(c.errors()), ull(c.mismatches), ull(c.protocol_errors), ull(c.connection_errors),
               ull(c.lost), ull(c.unclean_closes), ull(c.pings));
  std::fprintf(f, "client cpu     user %.2f s  sys %.2f s  = %.2f cores for %u thread(s) (%.0f%% each)\n",
               r.cpu_user_s, r.cpu_sys_s, r.cores(), r.threads, 100 * r.cores() / r.threads);
  if (r.cores() / r.threads > 0.9)
    std::fprintf(f, "warning        client threads >90%% busy: the client may be the bottleneck; add --threads\n");
  if (!r.first_error.empty()) std::fprintf(f, "first error    %s\n", r.first_error.c_str());
}

}  // namespace bench
