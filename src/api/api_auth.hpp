// API keys: "Authorization: Bearer <key>" checked against ApiConfig::keys.
// Only SHA-256 digests of the keys are kept, and a presented key is compared
// by digest, with CRYPTO_memcmp, against every configured key without an
// early exit: neither a key's bytes nor its length nor which key matched
// shows in the time an answer takes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/request_head.hpp"

namespace ringcast::api {

class ApiKeys {
 public:
  // Empty keys are ignored; with no key at all every request is refused.
  explicit ApiKeys(const std::vector<std::string>& keys);

  // The token of an Authorization header value "Bearer <token>" (scheme
  // case-insensitive, one or more spaces); false if it is not one.
  static bool bearer_token(std::string_view authorization, std::string_view* token);

  bool accepts_key(std::string_view key) const;
  // The request's Authorization header (exactly one) carries an accepted key.
  bool accepts(const http::RequestHead& head) const;

  size_t size() const { return digests_.size(); }

 private:
  using Digest = std::array<uint8_t, 32>;
  static Digest digest(std::string_view s);
  std::vector<Digest> digests_;
};

}  // namespace ringcast::api
