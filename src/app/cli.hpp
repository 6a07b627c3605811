// Command-line flags. Flags override the configuration file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ringcast::app {

struct CliOptions {
  std::optional<std::string> config_path;
  std::optional<std::string> listen;
  std::optional<uint32_t> threads;
  std::optional<std::string> api_listen;  // "off" disables the API
  bool help = false;
  bool version = false;
  bool print_config = false;
};

// Empty string on success, else a message naming the flag.
std::string parse_cli(int argc, char** argv, CliOptions& out);

extern const char* const kUsage;

}  // namespace ringcast::app
