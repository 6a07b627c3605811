// Wiring: one listener, one Gateway and one Reactor per thread.
#include "ringcast/server.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "api/api_server.hpp"
#include "app/listener.hpp"
#include "core/mesh.hpp"
#include "core/reactor.hpp"
#include "protocol/auth_keys.hpp"
#include "protocol/endpoints.hpp"
#include "protocol/gateway.hpp"
#include "protocol/router.hpp"
#include "protocol/upstream_pool.hpp"
#include "ringcast_version.h"

namespace ringcast {

namespace {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  if (cpus.empty()) cpus.push_back(-1);
  return cpus;
}

}  // namespace

struct Server::Impl {
  Config config;
  std::shared_ptr<const protocol::EndpointTable> endpoints;
  protocol::HandlerRegistry handlers;
  std::unique_ptr<core::Mesh> mesh;
  std::shared_ptr<protocol::AuthKeysSlot> auth;
  std::vector<std::unique_ptr<core::Reactor>> reactors;
  std::vector<std::thread> threads;
  std::unique_ptr<core::Reactor> api_reactor;  // the server API node (mesh member `workers`)
  api::ApiState api_state;
  std::atomic<int> ready{0};
  std::atomic<int> done{0};
  std::atomic<int> workers_done{0};
  std::mutex error_mutex;
  std::string error;
  uint16_t port = 0;
  uint16_t api_port = 0;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  protocol::register_builtin_handlers(impl_->handlers);
}

void Server::add_handler(std::string name, HandlerFactory factory) { impl_->handlers[std::move(name)] = std::move(factory); }

Server::~Server() {
  if (!impl_->threads.empty()) {
    stop();
    wait();
  }
}

std::string Server::start() {
  Impl& m = *impl_;
  ServerConfig& sc = m.config.server;
  const std::vector<int> cpus = allowed_cpus();
  const uint32_t n = sc.threads ? sc.threads : uint32_t(cpus.size());

  // Each ring's fixed-file table may hold up to RLIMIT_NOFILE entries; the
  // process fd table itself only ever holds the listeners and eventfds.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    if (lim.rlim_cur < lim.rlim_max) {
      lim.rlim_cur = lim.rlim_max;
      setrlimit(RLIMIT_NOFILE, &lim);
      getrlimit(RLIMIT_NOFILE, &lim);
    }
  }
  const uint64_t table_cap = lim.rlim_cur == RLIM_INFINITY ? (1u << 20) : std::min<uint64_t>(lim.rlim_cur, 1u << 20);
  // Each table also holds the reactor's outbound (upstream) connections.
  const uint64_t reserved = core::kSpareSlots + core::ReactorOptions{}.max_outbound;
  if (table_cap <= reserved) return "the open-files limit is too low to hold any connection";
  if (sc.max_connections == 0) {
    sc.max_connections = uint32_t(table_cap - reserved);
  } else if (sc.max_connections + reserved > table_cap) {
    return "server.max_connections = " + std::to_string(sc.max_connections) + " needs a file table of " +
           std::to_string(sc.max_connections + reserved) + " entries, but the open-files limit (" +
           std::to_string(table_cap) + ") caps each reactor's io_uring file table; use at most " +
           std::to_string(table_cap - reserved) + " or 0 (automatic)";
  }

  for (size_t i = 0; i < m.config.endpoints.size(); ++i) {
    const EndpointConfig& e = m.config.endpoints[i];
    if (!e.routes.empty() && !is_routed(e.protocol))
      return "endpoint[" + std::to_string(i) + "].route: only envelope, channel and action endpoints have routes";
    for (size_t j = 0; j < e.routes.size(); ++j) {
      if (!e.routes[j].upstream.empty()) continue;
      if (m.handlers.find(e.routes[j].handler) == m.handlers.end())
        return "endpoint[" + std::to_string(i) + "].route[" + std::to_string(j) + "].handler: no handler named \"" +
               e.routes[j].handler + "\"";
    }
  }
  // Upstream URLs are resolved here, once, so that a bad one stops the start
  // (each reactor's pool resolves its own copy again).
  {
    struct NoSink final : protocol::UpstreamSink {
      void on_upstream_answer(core::Reactor&, uint64_t, int, std::string_view, std::string_view) override {}
      void on_upstream_failure(core::Reactor&, uint64_t, protocol::UpstreamFailure) override {}
    } sink;
    protocol::UpstreamPool probe(sink);
    for (size_t i = 0; i < m.config.endpoints.size(); ++i) {
      const EndpointConfig& e = m.config.endpoints[i];
      std::string err;
      auto check = [&](const std::string& url, const std::string& key) {
        if (!url.empty() && probe.add_target(protocol::UpstreamTarget{url}, &err) < 0)
          err = "endpoint[" + std::to_string(i) + "]." + key + ": " + err;
        return err.empty();
      };
      if (!check(e.connect_upstream, "connect_upstream") || !check(e.disconnect_upstream, "disconnect_upstream"))
        return err;
      for (size_t j = 0; j < e.routes.size(); ++j)
        if (!check(e.routes[j].upstream, "route[" + std::to_string(j) + "].upstream")) return err;
    }
  }
  // Keys are loaded once here and on every reload; a key that cannot be
  // loaded stops the start.
  {
    std::string err;
    auto keys = protocol::AuthKeys::load(m.config.auth, &err);
    if (!keys) return err;
    m.auth = std::make_shared<protocol::AuthKeysSlot>();
    m.auth->set(std::move(keys));
  }
  m.endpoints = std::make_shared<const protocol::EndpointTable>(m.config.endpoints);
  auto handlers = std::make_shared<const protocol::HandlerRegistry>(m.handlers);
  // The API node is one more mesh member (index n): it receives interest
  // announcements like any reactor, and asks the workers through the mesh.
  const bool api = m.config.api.enabled;
  const uint32_t members = n + (api ? 1 : 0);
  if (members > 1) m.mesh = std::make_unique<core::Mesh>(members, sc.mesh_queue_depth);
  m.api_state.workers = n;
  uint16_t port = sc.listen_port;
  for (uint32_t i = 0; i < n; ++i) {
    std::string err;
    const int fd = app::open_listener(sc.listen_host, port, err);
    if (fd < 0) return err;
    if (i == 0) port = app::bound_port(fd);  // later listeners share a picked port
    core::ReactorOptions ro;
    ro.index = i;
    ro.max_connections = sc.max_connections;
    ro.recv_buffers = sc.recv_buffers;
    ro.recv_buffer_bytes = sc.recv_buffer_bytes;
    ro.close_timeout_ms = sc.close_timeout_ms;
    ro.shutdown_timeout_ms = sc.shutdown_timeout_ms;
    ro.listen_fd = fd;
    ro.cpu = sc.pin_threads ? cpus[i % cpus.size()] : -1;
    m.reactors.push_back(std::make_unique<core::Reactor>(
        ro, std::make_unique<protocol::Gateway>(m.config.server, m.endpoints, handlers, m.mesh.get(), i, n, m.auth)));
    if (m.mesh) m.mesh->set_doorbell(i, m.reactors.back()->wake_fd());
  }
  m.port = port;
  if (api) {
    std::string err;
    const int fd = app::open_listener(m.config.api.listen_host, m.config.api.listen_port, err);
    if (fd < 0) return "api: " + err;
    m.api_port = app::bound_port(fd);
    core::ReactorOptions ro;
    ro.index = n;
    ro.max_connections = 1024;  // backends on keep-alive connections, not clients
    ro.recv_buffers = 64;
    ro.recv_buffer_bytes = sc.recv_buffer_bytes;
    ro.close_timeout_ms = sc.close_timeout_ms;
    ro.shutdown_timeout_ms = sc.shutdown_timeout_ms;
    ro.max_outbound = 0;
    ro.listen_fd = fd;
    ro.cpu = -1;
    m.api_reactor = std::make_unique<core::Reactor>(
        ro, std::make_unique<api::ApiServer>(m.config.api, m.config.server, *m.mesh, n, m.api_state));
    m.mesh->set_doorbell(n, m.api_reactor->wake_fd());
  }

  auto launch = [&m](core::Reactor* r, bool worker) {
    m.threads.emplace_back([&m, r, worker] {
      std::string err = r->run(m.ready);
      if (!err.empty()) {
        std::lock_guard<std::mutex> lock(m.error_mutex);
        if (m.error.empty()) m.error = "reactor " + std::to_string(r->index()) + ": " + err;
      }
      if (worker) {
        m.api_state.workers_running.fetch_sub(1, std::memory_order_acq_rel);
        m.workers_done.fetch_add(1, std::memory_order_acq_rel);
      }
      m.done.fetch_add(1, std::memory_order_acq_rel);
    });
  };
  m.api_state.workers_running.store(n, std::memory_order_release);
  for (auto& reactor : m.reactors) launch(reactor.get(), true);
  if (m.api_reactor) launch(m.api_reactor.get(), false);
  // Wait until every reactor accepts, or one fails to start.
  while (m.ready.load(std::memory_order_acquire) + m.done.load(std::memory_order_acquire) < int(m.threads.size())) {
    usleep(1000);
  }
  std::string err;
  {
    std::lock_guard<std::mutex> lock(m.error_mutex);
    err = m.error;
  }
  if (!err.empty()) {
    stop();
    wait();
  }
  return err;
}

uint16_t Server::port() const { return impl_->port; }
uint16_t Server::api_port() const { return impl_->api_port; }

std::string Server::reload_auth(const AuthConfig& auth) {
  std::string err;
  auto keys = protocol::AuthKeys::load(auth, &err);
  if (!keys) return err;
  if (impl_->auth) impl_->auth->set(std::move(keys));
  return {};
}
uint32_t Server::threads() const { return uint32_t(impl_->reactors.size()); }

void Server::stop() {
  // Not ready from now on; the API keeps answering (503 on /readyz) while
  // the workers drain, and stops after them.
  impl_->api_state.stopping.store(true, std::memory_order_release);
  for (auto& r : impl_->reactors) r->request_stop();
}

bool Server::finished() const {
  Impl& m = *impl_;
  if (m.api_reactor && m.workers_done.load(std::memory_order_acquire) == int(m.reactors.size()))
    m.api_reactor->request_stop();
  return m.done.load(std::memory_order_acquire) == int(m.threads.size());
}

void Server::wait() {
  Impl& m = *impl_;
  for (size_t i = 0; i < m.threads.size(); ++i) {
    if (i == m.reactors.size() && m.api_reactor) m.api_reactor->request_stop();  // the workers are done
    if (m.threads[i].joinable()) m.threads[i].join();
  }
  m.threads.clear();
}

const char* version_string() { return "ringcast " RINGCAST_VERSION; }

}  // namespace ringcast
