#include "report.hpp"

#include <cmath>

namespace load {

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string with_commas(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}
}  // namespace

std::string json_quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += char(c);
    }
  }
  return o + "\"";
}

Report::Section& Report::Section::count(const std::string& key, uint64_t v) {
  fields.push_back({key, std::to_string(v), with_commas(v)});
  return *this;
}

Report::Section& Report::Section::integer(const std::string& key, int64_t v) {
  std::string h;
  if (v < 0) h += '-';
  h += with_commas(v < 0 ? uint64_t(-v) : uint64_t(v));
  fields.push_back({key, std::to_string(v), h});
  return *this;
}

Report::Section& Report::Section::number(const std::string& key, double v, int decimals) {
  if (!std::isfinite(v)) {
    fields.push_back({key, "null", "-"});
    return *this;
  }
  char f[16];
  std::snprintf(f, sizeof f, "%%.%df", decimals);
  fields.push_back({key, fmt("%.10g", v), fmt(f, v)});
  return *this;
}

Report::Section& Report::Section::text(const std::string& key, const std::string& v) {
  fields.push_back({key, json_quote(v), v});
  return *this;
}

Report::Section& Report::Section::boolean(const std::string& key, bool v) {
  fields.push_back({key, v ? "true" : "false", v ? "yes" : "no"});
  return *this;
}

Report::Report(std::string mode, std::string target) : mode_(std::move(mode)), target_(std::move(target)) {}

Report::Section& Report::section(const std::string& name) {
  for (Section& s : sections_)
    if (s.name == name) return s;
  sections_.push_back(Section{name, {}});
  return sections_.back();
}

void Report::latency(const std::string& name, const Histogram& h) {
  Section& s = section(name);
  auto us = [](uint64_t ns) { return double(ns) / 1000.0; };
  s.count("count", h.count());
  s.number("min_us", us(h.min()), 1);
  s.number("mean_us", h.mean() / 1000.0, 1);
  s.number("p50_us", us(h.value_at_percentile(50)), 1);
  s.number("p90_us", us(h.value_at_percentile(90)), 1);
  s.number("p99_us", us(h.value_at_percentile(99)), 1);
  s.number("p99_9_us", us(h.value_at_percentile(99.9)), 1);
  s.number("max_us", us(h.max()), 1);
  if (h.saturated()) s.count("beyond_range", h.saturated());
}

void Report::cpu(const Watch& w, unsigned tool_threads) {
  Section& s = section("cpu");
  CpuUse t = w.tool();
  s.number("wall_s", t.wall_s, 2);
  s.number("tool_user_s", t.user_s, 2);
  s.number("tool_sys_s", t.sys_s, 2);
  s.number("tool_percent", t.percent(), 1);
  s.count("tool_threads", tool_threads);
  if (w.server_pid) {
    s.integer("server_pid", w.server_pid);
    CpuUse v = w.server();
    if (v.ok) {
      s.number("server_user_s", v.user_s, 2);
      s.number("server_sys_s", v.sys_s, 2);
      s.number("server_percent", v.percent(), 1);
    } else {
      s.text("server_cpu", "unreadable (/proc/" + std::to_string(w.server_pid) + "/stat)");
    }
    if (w.rss0 >= 0) s.integer("server_rss_before_bytes", w.rss0);
    if (w.rss1 >= 0) s.integer("server_rss_after_bytes", w.rss1);
  }
}

void Report::print_table(FILE* f) const {
  std::fprintf(f, "\nringcast-load %s  %s\n", mode_.c_str(), target_.c_str());
  for (const Section& s : sections_) {
    std::fprintf(f, "  %s\n", s.name.c_str());
    for (const Field& x : s.fields) std::fprintf(f, "    %-28s %s\n", x.key.c_str(), x.human.c_str());
  }
  std::fprintf(f, "  result: %s\n", ok_ ? "OK" : "FAILED");
  for (const std::string& p : problems_) std::fprintf(f, "    - %s\n", p.c_str());
}

void Report::print_json(FILE* f) const {
  std::string o = "{\"mode\":" + json_quote(mode_) + ",\"target\":" + json_quote(target_) +
                  ",\"ok\":" + (ok_ ? "true" : "false") + ",\"problems\":[";
  for (size_t i = 0; i < problems_.size(); ++i) {
    if (i) o += ',';
    o += json_quote(problems_[i]);
  }
  o += "]";
  for (const Section& s : sections_) {
    o += ',';
    o += json_quote(s.name);
    o += ":{";
    for (size_t i = 0; i < s.fields.size(); ++i) {
      if (i) o += ',';
      o += json_quote(s.fields[i].key);
      o += ':';
      o += s.fields[i].json;
    }
    o += "}";
  }
  o += "}\n";
  std::fputs(o.c_str(), f);
}

}  // namespace load

namespace load {
int emit(const Report& r, bool json) {
  if (json) r.print_json(stdout);
  else r.print_table(stdout);
  std::fflush(stdout);
  return r.ok() ? 0 : 1;
}
}  // namespace load
