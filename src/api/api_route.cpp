#include "api/api_route.hpp"

namespace ringcast::api {

namespace {

constexpr std::string_view kGet = "GET, HEAD";
constexpr std::string_view kPost = "POST";
constexpr std::string_view kConnection = "GET, HEAD, POST, DELETE";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

RouteMatch match(Endpoint e, Method m, std::string_view allow, std::string_view param = {}) {
  RouteMatch r;
  r.endpoint = e;
  r.method = m;
  r.allow = allow;
  r.param = param;
  bool ok = false;
  if (allow == kGet) {
    ok = m == Method::get || m == Method::head;
  } else if (allow == kPost) {
    ok = m == Method::post;
  } else {
    ok = m != Method::other;
  }
  r.status = ok ? 0 : 405;
  return r;
}

}  // namespace

Method method_of(std::string_view method) {
  if (method == "GET") return Method::get;
  if (method == "HEAD") return Method::head;
  if (method == "POST") return Method::post;
  if (method == "DELETE") return Method::del;
  return Method::other;
}

RouteMatch route(std::string_view method, std::string_view path) {
  const Method m = method_of(method);
  if (path == "/healthz") return match(Endpoint::healthz, m, kGet);
  if (path == "/readyz") return match(Endpoint::readyz, m, kGet);
  if (path == "/metrics") return match(Endpoint::metrics, m, kGet);

  constexpr std::string_view kPrefix = "/api/v1/";
  if (!path.starts_with(kPrefix)) return {};
  const std::string_view rest = path.substr(kPrefix.size());
  if (rest == "publish") return match(Endpoint::publish, m, kPost);
  if (rest == "broadcast") return match(Endpoint::broadcast, m, kPost);
  if (rest == "channels") return match(Endpoint::channels, m, kGet);

  constexpr std::string_view kConnections = "connections/";
  if (rest.starts_with(kConnections)) {
    const std::string_view id = rest.substr(kConnections.size());
    if (id.empty() || id.find('/') != std::string_view::npos) return {};
    return match(Endpoint::connection, m, kConnection, id);
  }
  constexpr std::string_view kUsers = "users/", kDisconnect = "/disconnect";
  if (rest.starts_with(kUsers) && rest.ends_with(kDisconnect) && rest.size() > kUsers.size() + kDisconnect.size()) {
    const std::string_view user = rest.substr(kUsers.size(), rest.size() - kUsers.size() - kDisconnect.size());
    if (user.find('/') != std::string_view::npos) return {};
    return match(Endpoint::disconnect_user, m, kPost, user);
  }
  // Channel names may hold '/': everything between the prefix and the last
  // "/presence" is the name.
  constexpr std::string_view kChannels = "channels/", kPresence = "/presence";
  if (rest.starts_with(kChannels) && rest.ends_with(kPresence) &&
      rest.size() > kChannels.size() + kPresence.size()) {
    const std::string_view channel =
        rest.substr(kChannels.size(), rest.size() - kChannels.size() - kPresence.size());
    return match(Endpoint::presence, m, kGet, channel);
  }
  return {};
}

bool percent_decode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(char(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

QueryValue query_param(std::string_view query, std::string_view name, std::string* out) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string decoded_key;
    if (!percent_decode(key, true, &decoded_key)) continue;  // somebody else's malformed key
    if (decoded_key != name) continue;
    return percent_decode(value, true, out) ? QueryValue::ok : QueryValue::bad;
  }
  return QueryValue::absent;
}

bool parse_conn_id(std::string_view s, uint64_t* out) {
  if (s.size() == 16) {
    uint64_t v = 0;
    for (char c : s) {
      const int h = hex_value(c);
      if (h < 0) return false;
      v = (v << 4) | uint64_t(h);
    }
    *out = v;
    return true;
  }
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

std::string format_conn_id(uint64_t id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 0; i < 16; ++i) s[size_t(i)] = kHex[(id >> (60 - 4 * i)) & 0xF];
  return s;
}

}  // namespace ringcast::api
