#include "protocol/conn_info.hpp"

#include <arpa/inet.h>

namespace ringcast::protocol {

void format_conn_id(uint64_t conn, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) out[i] = kHex[(conn >> (60 - 4 * i)) & 0xF];
}

void write_identity(JsonOut& j, const auth::Identity* id) {
  if (!id) {
    j.raw("null");
    return;
  }
  j.raw(R"({"user_id":)").str(id->user_id).raw(R"(,"tenant_id":)").str(id->tenant_id);
  j.raw(R"(,"agent_id":)").str(id->agent_id).raw("}");
}

void format_peer_ip(const sockaddr_in6& peer, char* out, size_t cap) {
  if (peer.sin6_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, out, socklen_t(cap));
  } else if (IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr)) {
    inet_ntop(AF_INET, &peer.sin6_addr.s6_addr[12], out, socklen_t(cap));
  } else {
    inet_ntop(AF_INET6, &peer.sin6_addr, out, socklen_t(cap));
  }
}

}  // namespace ringcast::protocol
