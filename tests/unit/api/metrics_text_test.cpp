// The Prometheus exposition: parsed back line by line (a small reader for
// the text format 0.0.4) and checked for values, labels, HELP/TYPE lines
// and a well-formed cumulative histogram.
#include "api/metrics_text.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace ringcast::api {
namespace {

using protocol::ReactorStats;

struct Exposition {
  std::map<std::string, std::string> type;   // family -> counter/gauge/histogram
  std::set<std::string> help;
  std::map<std::string, double> samples;     // "name{labels}" -> value
  std::vector<std::string> order;            // sample keys in order
  std::vector<std::string> problems;
};

// Strict enough for our output: every line is a comment (# HELP / # TYPE)
// or `name[{k="v"}] value`; a sample's family has been typed before it.
Exposition parse(const std::string& text) {
  Exposition e;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      e.problems.push_back("empty line");
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      const size_t sp = rest.find(' ');
      if (sp == std::string::npos || sp + 1 >= rest.size()) e.problems.push_back("HELP without text: " + line);
      if (!e.help.insert(rest.substr(0, sp)).second) e.problems.push_back("HELP twice: " + line);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream ls(line.substr(7));
      std::string name, type;
      ls >> name >> type;
      if (type != "counter" && type != "gauge" && type != "histogram") e.problems.push_back("bad type: " + line);
      if (!e.type.emplace(name, type).second) e.problems.push_back("TYPE twice: " + line);
      continue;
    }
    if (line[0] == '#') {
      e.problems.push_back("stray comment: " + line);
      continue;
    }
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) {
      e.problems.push_back("no value: " + line);
      continue;
    }
    const std::string key = line.substr(0, sp);
    const std::string value = line.substr(sp + 1);
    std::string name = key.substr(0, key.find('{'));
    for (char c : name)
      if (!(isalnum(uint8_t(c)) || c == '_' || c == ':')) e.problems.push_back("bad name: " + line);
    if (key.find('{') != std::string::npos) {
      // k="v"[,k="v"]}
      std::string labels = key.substr(key.find('{'));
      if (labels.back() != '}' || labels.find("=\"") == std::string::npos) e.problems.push_back("bad labels: " + line);
    }
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (family.size() > s.size() && family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          e.type.count(family.substr(0, family.size() - s.size())) &&
          e.type[family.substr(0, family.size() - s.size())] == "histogram")
        family = family.substr(0, family.size() - s.size());
    }
    if (!e.type.count(family)) e.problems.push_back("sample before its TYPE: " + line);
    if (!e.help.count(family)) e.problems.push_back("sample without HELP: " + line);
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(value, &used);
    } catch (...) {
      used = 0;
    }
    if (used != value.size()) e.problems.push_back("bad value: " + line);
    if (!e.samples.emplace(key, v).second) e.problems.push_back("sample twice: " + line);
    e.order.push_back(key);
  }
  return e;
}

std::vector<ReactorStats> two_reactors() {
  std::vector<ReactorStats> rs(2);
  rs[0].connections_open = 10;
  rs[1].connections_open = 7;
  rs[0].connections_accepted = 100;
  rs[1].connections_accepted = 50;
  rs[0].closed_by_code[1] = 3;   // 1001
  rs[1].closed_by_code[1] = 4;
  rs[1].closed_by_code[12] = 2;  // other
  rs[0].handshake_failures[1] = 5;  // 401
  rs[0].messages_in = 1000;
  rs[1].messages_in = 2000;
  rs[0].messages_out = 3000;
  rs[1].messages_out = 4000;
  rs[0].bytes_in = 11;
  rs[1].bytes_in = 22;
  rs[0].bytes_out = 33;
  rs[1].bytes_out = 44;
  rs[0].publishes = 6;
  rs[1].publishes = 1;
  rs[0].deliveries = 600;
  rs[1].deliveries = 100;
  rs[1].slow_consumer_closes = 1;
  rs[1].slow_consumer_drops = 9;
  rs[0].rate_limited = 2;
  rs[0].abuse_closes = 1;
  rs[1].auth_failures = 8;
  rs[0].upstream_requests = 12;
  rs[0].upstream_failures = 3;
  rs[1].mesh_spilled = 17;
  rs[0].output_bytes_queued = 4096;
  // Per-bucket counts: 10us, 25us, ..., +Inf.
  rs[0].delivery_latency[0] = 5;
  rs[0].delivery_latency[3] = 10;   // <= 100us
  rs[1].delivery_latency[3] = 1;
  rs[1].delivery_latency[11] = 2;   // <= 1s
  rs[1].delivery_latency[12] = 1;   // > 1s
  rs[0].delivery_latency_sum_us = 1250;
  rs[1].delivery_latency_sum_us = 2500000;
  return rs;
}

TEST(MetricsText, Seconds) {
  std::string s;
  auto sec = [&](uint64_t us) {
    s.clear();
    append_seconds(s, us);
    return s;
  };
  EXPECT_EQ(sec(0), "0");
  EXPECT_EQ(sec(10), "0.00001");
  EXPECT_EQ(sec(25), "0.000025");
  EXPECT_EQ(sec(2500), "0.0025");
  EXPECT_EQ(sec(1000000), "1");
  EXPECT_EQ(sec(2500001), "2.500001");
}

TEST(MetricsText, ValuesAndLabels) {
  const auto rs = two_reactors();
  ApiNodeStats api;
  api.requests[200] = 12;
  api.requests[401] = 3;
  api.publishes = 4;
  std::string text;
  metrics_text(text, rs, api);
  const Exposition e = parse(text);
  EXPECT_TRUE(e.problems.empty()) << testing::PrintToString(e.problems) << "\n" << text;
  auto v = [&](const std::string& key) {
    auto it = e.samples.find(key);
    EXPECT_NE(it, e.samples.end()) << key << "\n" << text;
    return it == e.samples.end() ? -1.0 : it->second;
  };
  EXPECT_EQ(e.type.at("ringcast_connections_open"), "gauge");
  EXPECT_EQ(v(R"(ringcast_connections_open{reactor="0"})"), 10);
  EXPECT_EQ(v(R"(ringcast_connections_open{reactor="1"})"), 7);
  EXPECT_EQ(e.type.at("ringcast_connections_accepted_total"), "counter");
  EXPECT_EQ(v("ringcast_connections_accepted_total"), 150);
  EXPECT_EQ(v(R"(ringcast_connections_closed_total{code="1000"})"), 0);  // kept though zero
  EXPECT_EQ(v(R"(ringcast_connections_closed_total{code="1001"})"), 7);
  EXPECT_EQ(v(R"(ringcast_connections_closed_total{code="other"})"), 2);
  EXPECT_EQ(e.samples.count(R"(ringcast_connections_closed_total{code="1002"})"), 0u);  // zero: skipped
  EXPECT_EQ(v(R"(ringcast_handshake_failures_total{status="401"})"), 5);
  EXPECT_EQ(e.samples.count(R"(ringcast_handshake_failures_total{status="403"})"), 0u);
  EXPECT_EQ(v(R"(ringcast_messages_in_total{reactor="0"})"), 1000);
  EXPECT_EQ(v(R"(ringcast_messages_in_total{reactor="1"})"), 2000);
  EXPECT_EQ(v(R"(ringcast_messages_out_total{reactor="1"})"), 4000);
  EXPECT_EQ(v("ringcast_bytes_in_total"), 33);
  EXPECT_EQ(v("ringcast_bytes_out_total"), 77);
  EXPECT_EQ(v("ringcast_publishes_total"), 11);  // 6 + 1 by clients, 4 by the API
  EXPECT_EQ(v("ringcast_deliveries_total"), 700);
  EXPECT_EQ(v("ringcast_slow_consumer_closes_total"), 1);
  EXPECT_EQ(v("ringcast_slow_consumer_drops_total"), 9);
  EXPECT_EQ(v("ringcast_rate_limited_total"), 2);
  EXPECT_EQ(v("ringcast_abuse_closes_total"), 1);
  EXPECT_EQ(v("ringcast_auth_failures_total"), 8);
  EXPECT_EQ(v("ringcast_upstream_requests_total"), 12);
  EXPECT_EQ(v("ringcast_upstream_failures_total"), 3);
  EXPECT_EQ(e.type.at("ringcast_mesh_spilled"), "gauge");
  EXPECT_EQ(v(R"(ringcast_mesh_spilled{reactor="1"})"), 17);
  EXPECT_EQ(v(R"(ringcast_output_queued_bytes{reactor="0"})"), 4096);
  EXPECT_EQ(v(R"(ringcast_api_requests_total{status="200"})"), 12);
  EXPECT_EQ(v(R"(ringcast_api_requests_total{status="401"})"), 3);
}

TEST(MetricsText, CumulativeHistogram) {
  const auto rs = two_reactors();
  std::string text;
  metrics_text(text, rs, {});
  const Exposition e = parse(text);
  ASSERT_TRUE(e.problems.empty()) << testing::PrintToString(e.problems);
  EXPECT_EQ(e.type.at("ringcast_delivery_latency_seconds"), "histogram");
  // Buckets in order, le ascending, counts non-decreasing, ending in +Inf == _count.
  std::vector<std::pair<std::string, double>> buckets;
  for (const std::string& k : e.order)
    if (k.rfind("ringcast_delivery_latency_seconds_bucket{le=\"", 0) == 0)
      buckets.emplace_back(k.substr(45, k.size() - 45 - 2), e.samples.at(k));
  ASSERT_EQ(buckets.size(), protocol::kLatencyBucketsUs.size() + 1);
  for (size_t i = 0; i < protocol::kLatencyBucketsUs.size(); ++i)
    EXPECT_DOUBLE_EQ(std::stod(buckets[i].first), protocol::kLatencyBucketsUs[i] / 1e6) << buckets[i].first;
  EXPECT_EQ(buckets.back().first, "+Inf");
  for (size_t i = 1; i < buckets.size(); ++i) EXPECT_GE(buckets[i].second, buckets[i - 1].second);
  EXPECT_EQ(buckets[0].second, 5);   // <= 10us
  EXPECT_EQ(buckets[2].second, 5);   // <= 50us
  EXPECT_EQ(buckets[3].second, 16);  // <= 100us: 5 + 10 + 1
  EXPECT_EQ(buckets[11].second, 18); // <= 1s
  EXPECT_EQ(buckets[12].second, 19); // +Inf
  EXPECT_EQ(e.samples.at("ringcast_delivery_latency_seconds_count"), 19);
  EXPECT_DOUBLE_EQ(e.samples.at("ringcast_delivery_latency_seconds_sum"), 2.50125);
}

TEST(MetricsText, NoReactorsStillWellFormed) {
  std::string text;
  metrics_text(text, {}, {});
  const Exposition e = parse(text);
  EXPECT_TRUE(e.problems.empty()) << testing::PrintToString(e.problems);
  EXPECT_EQ(e.samples.at("ringcast_connections_accepted_total"), 0);
  EXPECT_EQ(e.samples.at("ringcast_delivery_latency_seconds_count"), 0);
  EXPECT_EQ(e.samples.at(R"(ringcast_delivery_latency_seconds_bucket{le="+Inf"})"), 0);
}

}  // namespace
}  // namespace ringcast::api
