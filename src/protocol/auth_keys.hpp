// The JWT verifier every reactor uses, swapped whole on SIGHUP. Reactors
// take a reference per upgrade (not per message); a connection verified
// with old keys keeps its identity after a swap.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "auth/jwt.hpp"
#include "ringcast/config.hpp"

namespace ringcast::protocol {

struct AuthKeys {
  AuthConfig config;
  std::unique_ptr<auth::Verifier> verifier;

  // nullptr and *error if a key cannot be loaded. With no key at all the
  // verifier is null: JWT endpoints then refuse every token (401).
  static std::shared_ptr<const AuthKeys> load(const AuthConfig& cfg, std::string* error) {
    auto keys = std::make_shared<AuthKeys>();
    keys->config = cfg;
    if (cfg.keys.empty() && cfg.jwks_file.empty()) return keys;
    keys->verifier = auth::Verifier::create(cfg, error);
    if (!keys->verifier) return nullptr;
    return keys;
  }
};

class AuthKeysSlot {
 public:
  std::shared_ptr<const AuthKeys> get() const { return keys_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const AuthKeys> keys) { keys_.store(std::move(keys), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const AuthKeys>> keys_;
};

}  // namespace ringcast::protocol
