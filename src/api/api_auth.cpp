#include "api/api_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace ringcast::api {

ApiKeys::ApiKeys(const std::vector<std::string>& keys) {
  for (const std::string& k : keys)
    if (!k.empty()) digests_.push_back(digest(k));
}

ApiKeys::Digest ApiKeys::digest(std::string_view s) {
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size()) {
    // Cannot happen with a working libcrypto; a digest nobody's key has
    // (all ones, never an output we could match by accident in practice)
    // still refuses the request.
    d.fill(0xFF);
  }
  return d;
}

bool ApiKeys::bearer_token(std::string_view authorization, std::string_view* token) {
  constexpr std::string_view kScheme = "Bearer";
  if (authorization.size() <= kScheme.size() || !http::iequals(authorization.substr(0, kScheme.size()), kScheme))
    return false;
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return false;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  if (rest.empty()) return false;
  *token = rest;
  return true;
}

bool ApiKeys::accepts_key(std::string_view key) const {
  if (key.empty()) return false;
  const Digest d = digest(key);
  int match = 0;
  for (const Digest& k : digests_) match |= CRYPTO_memcmp(d.data(), k.data(), d.size()) == 0;
  return match != 0;
}

bool ApiKeys::accepts(const http::RequestHead& head) const {
  if (head.count("Authorization") != 1) return false;
  std::string_view token;
  if (!bearer_token(head.find("Authorization")->value, &token)) return false;
  return accepts_key(token);
}

}  // namespace ringcast::api
