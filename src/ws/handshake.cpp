#include "ws/handshake.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "http/response.hpp"

namespace ringcast::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

constexpr std::string_view kStatusLine = "HTTP/1.1 101 Switching Protocols\r\n";
constexpr std::string_view kUpgradeLines = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
constexpr std::string_view kAcceptName = "Sec-WebSocket-Accept: ";
constexpr std::string_view kProtocolName = "Sec-WebSocket-Protocol: ";
constexpr std::string_view kCrlf = "\r\n";

static_assert(kUpgradeResponseBase ==
              kStatusLine.size() + kUpgradeLines.size() + kAcceptName.size() + 28 + 2 * kCrlf.size());
static_assert(kUpgradeResponseMax - kUpgradeResponseBase - kMaxSubprotocolLength ==
              kProtocolName.size() + kCrlf.size());

constexpr bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// 16 bytes encode to 22 base64 chars plus "==". The 4 spare bits of the last
// char are not required to be zero: they decode to 16 bytes either way.
bool is_key_of_16_bytes(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  return true;
}

HandshakeResult reject(int status, std::string_view why) {
  HandshakeResult r;
  r.status = status;
  r.reason = why;
  return r;
}

// Fetched once: fetching by name takes a lock on OpenSSL's provider store,
// which every handshake storm would otherwise contend on.
const EVP_MD* sha1() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One context per thread, reinitialised per handshake: once warm, accepting a
// connection allocates nothing.
EVP_MD_CTX* thread_md_ctx() {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx{EVP_MD_CTX_new()};
  return ctx.get();
}

char* append(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace

void compute_accept_key(std::string_view client_key, char out[28]) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_MD_CTX* ctx = thread_md_ctx();
  const bool ok = ctx && sha1() && EVP_DigestInit_ex(ctx, sha1(), nullptr) &&
                  EVP_DigestUpdate(ctx, client_key.data(), client_key.size()) &&
                  EVP_DigestUpdate(ctx, kGuid.data(), kGuid.size()) &&
                  EVP_DigestFinal_ex(ctx, digest, &digest_len) && digest_len == 20;
  if (!ok) {
    // Only reachable without a working libcrypto; an all-'A' key fails the
    // client's check, which is the right outcome for a broken server.
    std::memset(out, 'A', 28);
    return;
  }
  unsigned char encoded[29];  // EVP_EncodeBlock appends a NUL
  EVP_EncodeBlock(encoded, digest, 20);
  std::memcpy(out, encoded, 28);
}

HandshakeResult validate_upgrade(const http::RequestHead& head, std::span<const std::string> offered) {
  if (head.method != "GET") return reject(405, reason::kNotGet);
  if (head.version_major < 1 || (head.version_major == 1 && head.version_minor < 1)) {
    return reject(400, reason::kOldHttp);
  }
  if (head.has_body) return reject(400, reason::kHasBody);
  const http::Header* host = head.find("Host");
  if (!host || host->value.empty() || head.count("Host") != 1) return reject(400, reason::kBadHost);

  if (!head.find("Upgrade")) return reject(426, reason::kNoUpgrade);
  if (!head.has_token("Upgrade", "websocket")) return reject(400, reason::kUpgradeNotWebSocket);
  if (!head.has_token("Connection", "upgrade")) return reject(400, reason::kConnectionNotUpgrade);

  // RFC 6455 11.3.1 and 11.3.5: Key and Version must not appear more than once.
  const http::Header* key = head.find("Sec-WebSocket-Key");
  if (!key) return reject(400, reason::kMissingKey);
  if (head.count("Sec-WebSocket-Key") != 1) return reject(400, reason::kDuplicateKey);
  if (!is_key_of_16_bytes(key->value)) return reject(400, reason::kBadKey);

  const http::Header* version = head.find("Sec-WebSocket-Version");
  if (!version) return reject(400, reason::kMissingVersion);
  if (head.count("Sec-WebSocket-Version") != 1) return reject(400, reason::kDuplicateVersion);
  if (version->value != "13") return reject(426, reason::kBadVersion);

  HandshakeResult r;
  r.status = 101;
  r.reason = reason::kAccepted;
  compute_accept_key(key->value, r.accept);
  head.for_each_token("Sec-WebSocket-Protocol", [&](std::string_view wanted) {
    for (const std::string& mine : offered) {
      if (mine == wanted) {
        r.subprotocol = mine;
        return false;
      }
    }
    return true;
  });
  return r;
}

std::string_view rejection_response(const HandshakeResult& r) {
  if (r.status == 426 && r.reason == reason::kNoUpgrade) return http::upgrade_required_response();
  return http::error_response(r.status);
}

size_t write_upgrade_response(char* out, size_t cap, const HandshakeResult& r) {
  const size_t size = kUpgradeResponseBase +
                      (r.subprotocol.empty() ? 0 : kProtocolName.size() + r.subprotocol.size() + 2);
  if (r.status != 101 || size > cap) return 0;
  char* p = append(out, kStatusLine);
  p = append(p, kUpgradeLines);
  p = append(p, kAcceptName);
  p = append(p, {r.accept, 28});
  p = append(p, kCrlf);
  if (!r.subprotocol.empty()) {
    p = append(p, kProtocolName);
    p = append(p, r.subprotocol);
    p = append(p, kCrlf);
  }
  p = append(p, kCrlf);
  return static_cast<size_t>(p - out);
}

}  // namespace ringcast::ws
