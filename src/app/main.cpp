// ringcast: parse flags and configuration, start the reactors, wait for a
// signal, stop gracefully. Only wiring lives here.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "app/cli.hpp"
#include "app/config_file.hpp"
#include "app/default_config.hpp"
#include "core/ring.hpp"
#include "ringcast/server.hpp"

namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace ringcast;
  app::CliOptions cli;
  if (std::string err = app::parse_cli(argc, argv, cli); !err.empty()) {
    std::fprintf(stderr, "ringcast: %s\n", err.c_str());
    return kExitUsage;
  }
  if (cli.help) {
    std::fputs(app::kUsage, stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("%s\n", version_string());
    return 0;
  }
  if (cli.print_config) {
    std::fwrite(app::kDefaultConfig.data(), 1, app::kDefaultConfig.size(), stdout);
    return 0;
  }

  Config config;
  std::string err = cli.config_path ? app::load_config_file(*cli.config_path, config)
                                    : app::parse_config(app::kDefaultConfig, "(embedded default)", config);
  if (err.empty() && cli.listen) {
    err = app::parse_listen(*cli.listen, config.server);
    if (!err.empty()) err = "--listen: " + err;
  }
  if (!err.empty()) {
    std::fprintf(stderr, "ringcast: %s\n", err.c_str());
    return kExitUsage;
  }
  if (cli.threads) config.server.threads = *cli.threads;
  if (cli.api_listen) {
    if (*cli.api_listen == "off") {
      config.api.enabled = false;
    } else {
      ServerConfig tmp;
      if (err = app::parse_listen(*cli.api_listen, tmp); !err.empty()) {
        std::fprintf(stderr, "ringcast: --api-listen: %s\n", err.c_str());
        return kExitUsage;
      }
      config.api.enabled = true;
      config.api.listen_host = tmp.listen_host;
      config.api.listen_port = tmp.listen_port;
    }
  }
  for (const std::string& name : config.unset_secret_envs)
    std::fprintf(stderr, "ringcast: note: %s is not set; the JWT key that reads it is left out\n", name.c_str());
  if (config.auth.keys.empty() && config.auth.jwks_file.empty()) {
    for (const EndpointConfig& e : config.endpoints)
      if (e.auth == AuthMode::jwt)
        std::fprintf(stderr, "ringcast: note: %s needs a JWT but no key is configured: its upgrades get 401\n",
                     e.path.c_str());
  }

  if (std::string missing = core::check_kernel_support(); !missing.empty()) {
    std::fprintf(stderr, "ringcast: %s\n", missing.c_str());
    return kExitStartFailed;
  }

  // Signals are taken synchronously by this thread only; reactor threads
  // inherit the blocked mask. Writes to a closed socket report EPIPE instead.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Server server(config);
  if (err = server.start(); !err.empty()) {
    std::fprintf(stderr, "ringcast: %s\n", err.c_str());
    return kExitStartFailed;
  }
  const std::string& host = config.server.listen_host;
  const bool v6 = host.find(':') != std::string::npos;
  if (server.api_port() != 0) {
    const std::string& api_host = config.api.listen_host;
    const bool api_v6 = api_host.find(':') != std::string::npos;
    std::fprintf(stderr, "ringcast: api listening on %s%s%s:%u\n", api_v6 ? "[" : "", api_host.c_str(),
                 api_v6 ? "]" : "", unsigned(server.api_port()));
  }
  std::fprintf(stderr, "ringcast: listening on %s%s%s:%u (%u reactor%s)\n", v6 ? "[" : "", host.c_str(),
               v6 ? "]" : "", unsigned(server.port()), server.threads(), server.threads() == 1 ? "" : "s");
  siginfo_t info;
  for (;;) {
    if (sigwaitinfo(&stop_signals, &info) < 0) continue;
    if (info.si_signo != SIGHUP) break;
    // Keys and claim rules only: listeners, endpoints and threads need a restart.
    Config fresh;
    std::string why = cli.config_path ? app::load_config_file(*cli.config_path, fresh)
                                      : app::parse_config(app::kDefaultConfig, "(embedded default)", fresh);
    if (why.empty()) why = server.reload_auth(fresh.auth);
    if (why.empty()) {
      std::fprintf(stderr, "ringcast: SIGHUP: auth reloaded (%zu key%s)\n", fresh.auth.keys.size(),
                   fresh.auth.keys.size() == 1 ? "" : "s");
    } else {
      std::fprintf(stderr, "ringcast: SIGHUP: reload failed, keeping the current keys: %s\n", why.c_str());
    }
  }
  std::fprintf(stderr, "ringcast: %s, stopping gracefully\n", info.si_signo == SIGINT ? "SIGINT" : "SIGTERM");
  server.stop();
  const timespec poll = {0, 50 * 1000 * 1000};
  while (!server.finished()) {
    if (sigtimedwait(&stop_signals, &info, &poll) > 0) {
      std::fprintf(stderr, "ringcast: second signal, exiting now\n");
      _exit(kExitStartFailed);
    }
  }
  server.wait();
  std::fprintf(stderr, "ringcast: stopped\n");
  return 0;
}
