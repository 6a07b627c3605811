// Embedding ringcast: start the gateway inside another program.
//
//   ringcast::Server server(config);
//   server.add_handler("quote", [] { return std::make_unique<QuoteHandler>(); });
//   if (auto err = server.start(); !err.empty()) { ...; }
//   ...                       // server.port() is the bound port
//   server.stop();            // graceful: close 1001, drain, stop
//   server.wait();
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ringcast/config.hpp"
#include "ringcast/handler.hpp"

namespace ringcast {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a handler under a name routes can give ([[endpoint.route]]
  // handler = "name"); replaces a built-in of the same name. Before start().
  void add_handler(std::string name, HandlerFactory factory);

  // Binds the listeners and starts one reactor thread per configured thread;
  // returns once every reactor accepts. Empty string, or why it could not.
  std::string start();

  // The bound port (useful when the configured port was 0).
  uint16_t port() const;
  // The server API's bound port (0 when the API is disabled).
  uint16_t api_port() const;

  // Replaces the JWT keys and claim rules (SIGHUP). Connections keep the
  // identity they were verified with. On error (a key that cannot be
  // loaded) the old keys stay and the reason is returned. Safe from any thread.
  std::string reload_auth(const AuthConfig& auth);
  // Reactor threads actually started.
  uint32_t threads() const;

  // Begins a graceful stop; returns at once. Safe from any thread.
  void stop();
  // True once every reactor has finished.
  bool finished() const;
  // Joins the reactor threads.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "ringcast <version>".
const char* version_string();

}  // namespace ringcast
