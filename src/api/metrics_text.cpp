#include "api/metrics_text.hpp"

#include <charconv>
#include <string_view>

namespace ringcast::api {

namespace {

using protocol::ReactorStats;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  // name{label="value"} v   (label empty: no braces)
  void sample(std::string_view name, std::string_view label, std::string_view value, uint64_t v) {
    out_.append(name);
    if (!label.empty()) out_.append("{").append(label).append("=\"").append(value).append("\"}");
    out_.push_back(' ');
    number(v);
    out_.push_back('\n');
  }
  void number(uint64_t v) {
    char tmp[24];
    auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), v);
    out_.append(tmp, size_t(end - tmp));
  }

 private:
  std::string& out_;
};

std::string decimal(uint64_t v) {
  char tmp[24];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), v);
  return std::string(tmp, size_t(end - tmp));
}

// One sample per reactor.
template <class Get>
void per_reactor(Writer& w, std::span<const ReactorStats> rs, std::string_view name, std::string_view type,
                 std::string_view help, Get get) {
  w.family(name, type, help);
  for (size_t i = 0; i < rs.size(); ++i) w.sample(name, "reactor", decimal(i), get(rs[i]));
}

// One sample, summed over reactors.
template <class Get>
void total(Writer& w, std::span<const ReactorStats> rs, std::string_view name, std::string_view help, Get get,
           uint64_t extra = 0) {
  uint64_t sum = extra;
  for (const ReactorStats& s : rs) sum += get(s);
  w.family(name, "counter", help);
  w.sample(name, {}, {}, sum);
}

}  // namespace

void append_seconds(std::string& out, uint64_t us) {
  char tmp[24];
  auto [end, ec] = std::to_chars(tmp, tmp + sizeof(tmp), us / 1000000);
  out.append(tmp, size_t(end - tmp));
  uint64_t frac = us % 1000000;
  if (frac == 0) return;
  char digits[6];
  for (int i = 5; i >= 0; --i) {
    digits[i] = char('0' + frac % 10);
    frac /= 10;
  }
  int n = 6;
  while (n > 0 && digits[n - 1] == '0') --n;
  out.push_back('.');
  out.append(digits, size_t(n));
}

void metrics_text(std::string& out, std::span<const ReactorStats> rs, const ApiNodeStats& api) {
  Writer w(out);
  per_reactor(w, rs, "ringcast_connections_open", "gauge", "WebSocket connections open, per reactor.",
              [](const ReactorStats& s) { return s.connections_open; });
  total(w, rs, "ringcast_connections_accepted_total", "WebSocket upgrades completed.",
        [](const ReactorStats& s) { return s.connections_accepted; });

  w.family("ringcast_connections_closed_total", "counter", "WebSocket connections closed, by close code.");
  for (size_t c = 0; c < protocol::kCountedCloseCodes.size(); ++c) {
    uint64_t sum = 0;
    for (const ReactorStats& s : rs) sum += s.closed_by_code[c];
    const uint16_t code = protocol::kCountedCloseCodes[c];
    if (sum == 0 && code != 1000) continue;
    w.sample("ringcast_connections_closed_total", "code", code == 0 ? std::string("other") : decimal(code), sum);
  }

  w.family("ringcast_handshake_failures_total", "counter", "Upgrade requests answered with an HTTP error, by status.");
  for (size_t c = 0; c < protocol::kCountedHandshakeStatus.size(); ++c) {
    uint64_t sum = 0;
    for (const ReactorStats& s : rs) sum += s.handshake_failures[c];
    const uint16_t status = protocol::kCountedHandshakeStatus[c];
    if (sum == 0 && status != 400) continue;
    w.sample("ringcast_handshake_failures_total", "status", status == 0 ? std::string("other") : decimal(status),
             sum);
  }

  per_reactor(w, rs, "ringcast_messages_in_total", "counter", "WebSocket messages received, per reactor.",
              [](const ReactorStats& s) { return s.messages_in; });
  per_reactor(w, rs, "ringcast_messages_out_total", "counter", "WebSocket messages sent, per reactor.",
              [](const ReactorStats& s) { return s.messages_out; });
  total(w, rs, "ringcast_bytes_in_total", "WebSocket payload bytes received.",
        [](const ReactorStats& s) { return s.bytes_in; });
  total(w, rs, "ringcast_bytes_out_total", "WebSocket payload bytes sent.",
        [](const ReactorStats& s) { return s.bytes_out; });
  total(w, rs, "ringcast_publishes_total", "Publishes started, by clients and through the server API.",
        [](const ReactorStats& s) { return s.publishes; }, api.publishes);
  total(w, rs, "ringcast_deliveries_total", "Published messages queued on subscribers.",
        [](const ReactorStats& s) { return s.deliveries; });
  total(w, rs, "ringcast_slow_consumer_closes_total", "Subscribers closed for not keeping up.",
        [](const ReactorStats& s) { return s.slow_consumer_closes; });
  total(w, rs, "ringcast_slow_consumer_drops_total", "Published messages dropped for slow subscribers.",
        [](const ReactorStats& s) { return s.slow_consumer_drops; });
  total(w, rs, "ringcast_rate_limited_total", "Client messages refused by the rate limit.",
        [](const ReactorStats& s) { return s.rate_limited; });
  total(w, rs, "ringcast_abuse_closes_total", "Connections closed for too many invalid messages.",
        [](const ReactorStats& s) { return s.abuse_closes; });
  total(w, rs, "ringcast_auth_failures_total", "Upgrades refused for a missing or invalid token.",
        [](const ReactorStats& s) { return s.auth_failures; });
  total(w, rs, "ringcast_upstream_requests_total", "Requests made to upstream HTTP services.",
        [](const ReactorStats& s) { return s.upstream_requests; });
  total(w, rs, "ringcast_upstream_failures_total", "Upstream requests that failed or timed out.",
        [](const ReactorStats& s) { return s.upstream_failures; });
  per_reactor(w, rs, "ringcast_mesh_spilled", "gauge", "Messages waiting for room in a full cross-reactor queue.",
              [](const ReactorStats& s) { return s.mesh_spilled; });
  per_reactor(w, rs, "ringcast_output_queued_bytes", "gauge", "Bytes waiting in connections' output queues.",
              [](const ReactorStats& s) { return s.output_bytes_queued; });

  // The reactors count each bucket on its own; Prometheus buckets are cumulative.
  constexpr std::string_view kHist = "ringcast_delivery_latency_seconds";
  w.family(kHist, "histogram", "Time from publish to queueing on a subscriber.");
  uint64_t cumulative = 0, sum_us = 0;
  for (const ReactorStats& s : rs) sum_us += s.delivery_latency_sum_us;
  for (size_t b = 0; b <= protocol::kLatencyBucketsUs.size(); ++b) {
    for (const ReactorStats& s : rs) cumulative += s.delivery_latency[b];
    std::string le;
    if (b < protocol::kLatencyBucketsUs.size()) {
      append_seconds(le, protocol::kLatencyBucketsUs[b]);
    } else {
      le = "+Inf";
    }
    w.sample("ringcast_delivery_latency_seconds_bucket", "le", le, cumulative);
  }
  out.append(kHist).append("_sum ");
  append_seconds(out, sum_us);
  out.push_back('\n');
  w.sample("ringcast_delivery_latency_seconds_count", {}, {}, cumulative);

  w.family("ringcast_api_stalls_total", "counter",
           "Server API requests held back until the reactors' queues drained (backpressure).");
  w.sample("ringcast_api_stalls_total", {}, {}, api.stalls);
  w.family("ringcast_api_requests_total", "counter", "Server API requests answered, by HTTP status.");
  for (const auto& [status, n] : api.requests) w.sample("ringcast_api_requests_total", "status", decimal(uint64_t(status)), n);
}

}  // namespace ringcast::api
