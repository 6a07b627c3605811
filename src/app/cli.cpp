#include "app/cli.hpp"

#include <charconv>
#include <string_view>

namespace ringcast::app {

const char* const kUsage =
    "Usage: ringcast [options]\n"
    "\n"
    "A WebSocket gateway on io_uring. With no options it serves the embedded\n"
    "default configuration (ringcast --print-config shows it) on 0.0.0.0:8080.\n"
    "\n"
    "Options:\n"
    "  --config FILE     read the configuration from FILE (TOML)\n"
    "  --listen H:P      listen address, overrides server.listen (port 0 = any free port)\n"
    "  --threads N       reactor threads, overrides server.threads (0 = one per core)\n"
    "  --api-listen H:P  server API address, overrides api.listen (\"off\" = no API)\n"
    "  --print-config    print the embedded default configuration and exit\n"
    "  --version         print the version and exit\n"
    "  --help            print this help and exit\n"
    "\n"
    "Signals: SIGINT/SIGTERM stop gracefully (close 1001, drain, exit 0);\n"
    "a second one exits at once. SIGHUP reloads the [auth] section (JWT keys)\n"
    "from the config file; connections stay.\n";

std::string parse_cli(int argc, char** argv, CliOptions& out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    auto take_value = [&](std::string_view flag) -> bool {
      if (has_inline) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      (void)flag;
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--version") {
      out.version = true;
    } else if (arg == "--print-config") {
      out.print_config = true;
    } else if (arg == "--config") {
      if (!take_value(arg)) return "--config: missing FILE";
      out.config_path = std::string(value);
    } else if (arg == "--listen") {
      if (!take_value(arg)) return "--listen: missing HOST:PORT";
      out.listen = std::string(value);
    } else if (arg == "--api-listen") {
      if (!take_value(arg)) return "--api-listen: missing HOST:PORT (or off)";
      out.api_listen = std::string(value);
    } else if (arg == "--threads") {
      if (!take_value(arg)) return "--threads: missing N";
      uint32_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n > 63)
        return "--threads: expected a number from 0 to 63, got \"" + std::string(value) + "\"";
      out.threads = n;
    } else {
      return "unknown option \"" + std::string(arg) + "\" (see --help)";
    }
  }
  return {};
}

}  // namespace ringcast::app
