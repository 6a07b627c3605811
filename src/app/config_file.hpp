// Reading a TOML configuration into ringcast::Config. Strict: an unknown key,
// a wrong type or a value out of range is an error that names the key.
#pragma once

#include <string>
#include <string_view>

#include "ringcast/config.hpp"

namespace ringcast::app {

// Returns an empty string on success, else "<source>: <key>: <problem>".
std::string parse_config(std::string_view toml_text, std::string_view source, Config& out);

// Reads and parses a file; same error contract.
std::string load_config_file(const std::string& path, Config& out);

// "host:port" (IPv6 as "[::1]:port") into the server section.
std::string parse_listen(std::string_view value, ServerConfig& out);

}  // namespace ringcast::app
