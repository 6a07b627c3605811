#include "handshake.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cstring>

namespace load::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(uint8_t(a[i])) != std::tolower(uint8_t(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Connection is a comma-separated token list ("keep-alive, Upgrade").
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == list.npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void append(char*& p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  p += s.size();
}

}  // namespace

void make_key(uint64_t r0, uint64_t r1, char key[kKeyLength]) {
  uint8_t raw[16];
  std::memcpy(raw, &r0, 8);
  std::memcpy(raw + 8, &r1, 8);
  unsigned char out[kKeyLength + 1];
  EVP_EncodeBlock(out, raw, sizeof raw);
  std::memcpy(key, out, kKeyLength);
}

void expected_accept(std::string_view key, char out[28]) {
  unsigned char buf[64 + kGuid.size()];
  size_t n = key.size() < 64 ? key.size() : 64;
  std::memcpy(buf, key.data(), n);
  std::memcpy(buf + n, kGuid.data(), kGuid.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  EVP_Digest(buf, n + kGuid.size(), digest, &dlen, EVP_sha1(), nullptr);
  unsigned char b64[29];
  EVP_EncodeBlock(b64, digest, 20);
  std::memcpy(out, b64, 28);
}

size_t write_request(char* out, size_t cap, std::string_view host, std::string_view path,
                     std::string_view key) {
  constexpr std::string_view a = "GET ", b = " HTTP/1.1\r\nHost: ",
      c = "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
      d = "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ringcast-load\r\n\r\n";
  size_t need = a.size() + path.size() + b.size() + host.size() + c.size() + key.size() + d.size();
  if (need > cap) return 0;
  char* p = out;
  append(p, a);
  append(p, path);
  append(p, b);
  append(p, host);
  append(p, c);
  append(p, key);
  append(p, d);
  return size_t(p - out);
}

HandshakeResult check_response(std::string_view buf, std::string_view key) {
  size_t end = buf.find("\r\n\r\n");
  if (end == buf.npos) return {HandshakeStatus::incomplete, 0, nullptr};
  auto failed = [](const char* why) { return HandshakeResult{HandshakeStatus::failed, 0, why}; };
  std::string_view head = buf.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string_view status = head.substr(0, eol);
  if (!status.starts_with("HTTP/1.1 ")) return failed("response is not HTTP/1.1");
  if (status.substr(9, 3) != "101") return failed("server refused the upgrade (status is not 101)");
  char accept[28];
  expected_accept(key, accept);
  bool accept_ok = false, accept_seen = false, upgrade_ok = false, connection_ok = false;
  for (size_t pos = eol + 2; pos < head.size();) {
    size_t next = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == line.npos) return failed("malformed header line in the 101 response");
    std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (iequals(name, "sec-websocket-accept")) {
      if (accept_seen) return failed("two Sec-WebSocket-Accept headers");
      accept_seen = true;
      accept_ok = value == std::string_view(accept, 28);
    } else if (iequals(name, "upgrade")) {
      upgrade_ok = iequals(value, "websocket");
    } else if (iequals(name, "connection")) {
      connection_ok = has_token(value, "upgrade");
    } else if (iequals(name, "sec-websocket-extensions")) {
      return failed("server chose an extension we did not offer");
    } else if (iequals(name, "sec-websocket-protocol")) {
      return failed("server chose a subprotocol we did not offer");
    }
  }
  if (!accept_seen) return failed("101 without Sec-WebSocket-Accept");
  if (!accept_ok) return failed("wrong Sec-WebSocket-Accept");
  if (!upgrade_ok) return failed("101 without Upgrade: websocket");
  if (!connection_ok) return failed("101 without Connection: Upgrade");
  return {HandshakeStatus::ok, end + 4, nullptr};
}

}  // namespace load::ws
