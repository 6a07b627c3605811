// The end-of-run summary: one structure, two renderings.
//
// A mode fills named sections with typed fields; print_table() renders them
// for people (aligned, units in the key names) and print_json() as one JSON
// object on one line: {"mode":"echo","ok":true,"config":{...},...}. Keys
// carry their unit (_us, _per_s, _bytes, _percent) so a script never has to
// guess. Built once at the end of a run, so it may allocate freely.
#pragma once

#include "histogram.hpp"
#include "proc_stats.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace load {

class Report {
 public:
  struct Field {
    std::string key;
    std::string json;   // the value as a JSON literal
    std::string human;  // the value for the table
  };
  struct Section {
    std::string name;
    std::vector<Field> fields;
    Section& count(const std::string& key, uint64_t v);
    Section& integer(const std::string& key, int64_t v);
    Section& number(const std::string& key, double v, int decimals = 1);
    Section& text(const std::string& key, const std::string& v);
    Section& boolean(const std::string& key, bool v);
  };

  explicit Report(std::string mode, std::string target);
  Section& section(const std::string& name);
  void set_ok(bool ok) { ok_ = ok; }
  bool ok() const { return ok_; }
  void add_problem(const std::string& p) { problems_.push_back(p); }
  // "<n> <what>", only when n > 0: add_problem(lost, "message(s) never echoed").
  void add_problem(uint64_t n, const char* what) {
    if (n) add_problem(std::to_string(n) + " " + what);
  }

  // Percentiles p50/p90/p99/p99.9/max (+ min, mean, count) in microseconds.
  void latency(const std::string& name, const Histogram& h);
  // Tool and server CPU, server RSS (when watched).
  void cpu(const Watch& w, unsigned tool_threads);

  void print_table(FILE* f) const;
  void print_json(FILE* f) const;

 private:
  std::string mode_, target_;
  bool ok_ = true;
  std::vector<std::string> problems_;
  std::vector<Section> sections_;
};

std::string json_quote(const std::string& s);

}  // namespace load

namespace load {
// Prints the report (JSON on stdout with --json, else the table on stdout)
// and returns the exit status: 0 if ok, 1 otherwise.
int emit(const Report& r, bool json);
}  // namespace load
