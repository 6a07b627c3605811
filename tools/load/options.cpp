#include "options.hpp"

#include "modes.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace load {

void add_common(std::vector<OptSpec>& s, CommonOptions& c) {
  s.push_back(u64("--threads", "T", "load threads, one io_uring each; connections are spread over them",
                  &c.threads, 1, double(kMaxThreads)));
  s.push_back(u64("--server-pid", "PID",
                  "server process: report its CPU (/proc/PID/stat) and RSS (/proc/PID/status)",
                  &c.server_pid, 0, 4194304));
  s.push_back(flag("--json", "print one JSON object with every figure on stdout (no table)", &c.json));
  s.push_back(flag("--quiet", "no live progress line on stderr", &c.quiet));
  s.push_back(flag("--allow-remote", "allow targets that are not loopback addresses", &c.allow_remote));
  s.push_back(flag("--help", "this help", &c.help));
}

namespace {

std::string bounds(const OptSpec& o) {
  char buf[96];
  if (o.kind == OptKind::u64) std::snprintf(buf, sizeof buf, "%.0f..%.0f", o.lo, o.hi);
  else std::snprintf(buf, sizeof buf, "%g..%g", o.lo, o.hi);
  return buf;
}

// 10k / 2M / 1G: handy for counts and rates. Returns the multiplier and
// steps `end` past the suffix when there is exactly one suffix letter left.
double suffix(char*& end) {
  if (!end || !*end || end[1] != '\0') return 1;
  double m = *end == 'k' || *end == 'K' ? 1e3 : *end == 'm' || *end == 'M' ? 1e6 : *end == 'g' || *end == 'G' ? 1e9 : 1;
  if (m != 1) ++end;
  return m;
}

std::string set_value(const OptSpec& o, const char* text) {
  std::string name = o.name;
  char* end = nullptr;
  errno = 0;
  switch (o.kind) {
    case OptKind::flag:
      return name + " takes no value";
    case OptKind::u64: {
      if (*text == '-' || *text == '\0') return name + ": expected a whole number, got '" + text + "'";
      unsigned long long v = std::strtoull(text, &end, 10);
      const auto mult = (unsigned long long)suffix(end);
      if (errno || end == text || *end) return name + ": expected a whole number, got '" + text + "'";
      double d = double(v) * double(mult);
      if (d < o.lo || d > o.hi) return name + " must be in " + bounds(o) + ", got " + text;
      *static_cast<uint64_t*>(o.target) = v * mult;
      return {};
    }
    case OptKind::f64: {
      double v = std::strtod(text, &end);
      if (end != text) v *= suffix(end);
      if (end == text || *end || !std::isfinite(v)) return name + ": expected a number, got '" + text + "'";
      if (v < o.lo || v > o.hi) return name + " must be in " + bounds(o) + ", got " + text;
      *static_cast<double*>(o.target) = v;
      return {};
    }
    case OptKind::str:
      *static_cast<std::string*>(o.target) = text;
      return {};
  }
  return {};
}

}  // namespace

std::string parse_options(const std::vector<OptSpec>& specs, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view name = arg, inline_value;
    bool has_inline = false;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != arg.npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
      has_inline = true;
    }
    const OptSpec* o = nullptr;
    for (const OptSpec& s : specs)
      if (name == s.name) o = &s;
    if (!o) return "unknown option '" + std::string(arg) + "' (see --help)";
    if (o->seen) *o->seen = true;
    if (o->kind == OptKind::flag) {
      if (has_inline) return std::string(o->name) + " takes no value";
      *static_cast<bool*>(o->target) = true;
      continue;
    }
    std::string value;
    if (has_inline) {
      value = std::string(inline_value);
    } else {
      if (i + 1 >= argc) return std::string(o->name) + " needs a value";
      value = argv[++i];
    }
    if (std::string err = set_value(*o, value.c_str()); !err.empty()) return err;
  }
  return {};
}

void print_help(FILE* f, const char* mode, const char* summary, const std::vector<OptSpec>& specs,
                const char* notes) {
  std::fprintf(f, "usage: ringcast-load %s [options]\n\n%s\n\noptions:\n", mode, summary);
  for (const OptSpec& o : specs) {
    std::string left = std::string("  ") + o.name + (o.meta ? std::string(" ") + o.meta : "");
    std::string def;
    switch (o.kind) {
      case OptKind::flag: break;
      case OptKind::u64:
        def = " [" + std::to_string(*static_cast<uint64_t*>(o.target)) + "; " + bounds(o) + "]";
        break;
      case OptKind::f64: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", *static_cast<double*>(o.target));
        def = std::string(" [") + buf + "; " + bounds(o) + "]";
        break;
      }
      case OptKind::str: {
        const auto& s = *static_cast<std::string*>(o.target);
        if (!s.empty()) def = " [" + s + "]";
        break;
      }
    }
    std::fprintf(f, "%-26s %s%s\n", left.c_str(), o.help, def.c_str());
  }
  if (notes && *notes) std::fprintf(f, "\n%s\n", notes);
}

std::optional<int> parse_command_line(const char* mode, std::vector<OptSpec>& specs, CommonOptions& c, int argc,
                                      char** argv, const char* summary, const char* notes) {
  add_common(specs, c);
  if (std::string err = parse_options(specs, argc, argv); !err.empty()) return usage_error(mode, err);
  if (!c.help) return std::nullopt;
  print_help(stdout, mode, summary, specs, notes);
  return kExitOk;
}

int usage_error(const char* mode, const std::string& what) {
  std::fprintf(stderr, "ringcast-load %s: %s\n", mode, what.c_str());
  return kExitUsage;
}

}  // namespace load
