// Command-line parsing shared by every mode.
//
// A mode lists its flags as OptSpec rows (name, value kind, bounds, help)
// pointing at fields of its own options struct, whose initial values are the
// defaults. parse_options() fills the fields and enforces the bounds, so every
// number a mode sees is already inside its hard limit: that is how every run
// stays bounded in time, count and memory. print_help() renders the same
// rows, defaults included, so --help cannot drift from the parser.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace load {

enum class OptKind { flag, u64, f64, str };

struct OptSpec {
  const char* name;  // "--connections"
  const char* meta;  // "N"; nullptr for a flag
  const char* help;
  OptKind kind;
  void* target;      // bool*, uint64_t*, double* or std::string*
  double lo = 0, hi = 0;
  bool* seen = nullptr;  // set to true when the flag is given
};

inline OptSpec flag(const char* name, const char* help, bool* t) {
  return {name, nullptr, help, OptKind::flag, t};
}
inline OptSpec u64(const char* name, const char* meta, const char* help, uint64_t* t, double lo,
                   double hi, bool* seen = nullptr) {
  return {name, meta, help, OptKind::u64, t, lo, hi, seen};
}
inline OptSpec f64(const char* name, const char* meta, const char* help, double* t, double lo,
                   double hi, bool* seen = nullptr) {
  return {name, meta, help, OptKind::f64, t, lo, hi, seen};
}
inline OptSpec str(const char* name, const char* meta, const char* help, std::string* t,
                   bool* seen = nullptr) {
  return {name, meta, help, OptKind::str, t, 0, 0, seen};
}

// Flags every mode takes.
struct CommonOptions {
  std::string url;
  uint64_t threads = 1;
  uint64_t server_pid = 0;
  bool json = false;
  bool quiet = false;
  bool allow_remote = false;
  bool help = false;
};

inline constexpr uint64_t kMaxThreads = 64;

// Appends --threads, --server-pid, --json, --quiet, --allow-remote, --help.
// --url is per mode (its default differs), so modes add it themselves.
void add_common(std::vector<OptSpec>& specs, CommonOptions& c);

// argv[0] is the mode name. Empty string on success, else what is wrong.
std::string parse_options(const std::vector<OptSpec>& specs, int argc, char** argv);

void print_help(FILE* f, const char* mode, const char* summary, const std::vector<OptSpec>& specs,
                const char* notes);

// A mode's whole command line: add_common(), parse_options(), and --help
// (`summary` and `notes` as in print_help). Returns the exit status when the
// mode is done (bad usage, said on stderr; or the help, printed), nothing
// when it should run.
std::optional<int> parse_command_line(const char* mode, std::vector<OptSpec>& specs, CommonOptions& c, int argc,
                                      char** argv, const char* summary, const char* notes);

// "ringcast-load MODE: what" on stderr; returns the bad-usage exit status.
int usage_error(const char* mode, const std::string& what);

}  // namespace load
