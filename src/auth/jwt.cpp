#include "auth/jwt.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "auth/alg.hpp"
#include "auth/base64url.hpp"
#include "auth/keys.hpp"
#include "auth/signature.hpp"

namespace ringcast::auth {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// What verify() needs from AuthConfig (not the key material: that lives in
// `keys`, once).
struct Verifier::State {
  std::vector<Key> keys;
  SignatureChecker checker;
  std::string issuer, audience;
  std::string user_claim, tenant_claim, agent_claim, channels_claim;
  int64_t leeway_s = 0;
  size_t max_token_bytes = 0;
  bool require_exp = true;
};

namespace {

// Per-thread buffers, so a warm verify() allocates only the Identity it
// returns. verify() calls nothing that could re-enter it.
struct Scratch {
  simdjson::dom::parser parser;
  std::string json;  // a decoded header or payload, then SIMDJSON_PADDING bytes
  std::string sig;   // the decoded signature
  std::vector<const Key*> candidates;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Decodes one base64url segment into s.json (padded for simdjson); false if
// it is not strict base64url.
bool decode_segment(std::string_view b64, Scratch& s, size_t* len) {
  const size_t n = base64url_decoded_size(b64.size());
  if (n == kBase64urlInvalidLength) return false;
  s.json.resize(n + simdjson::SIMDJSON_PADDING);
  *len = n;
  return base64url_decode(b64, reinterpret_cast<uint8_t*>(s.json.data()));
}

// Parses s.json[0, len) (decode_segment's output) as a JSON object.
bool parse_object(Scratch& s, size_t len, object* out) {
  element root;
  if (s.parser.parse(s.json.data(), len, false).get(root) != simdjson::SUCCESS) return false;
  return root.get_object().get(*out) == simdjson::SUCCESS;
}

// A NumericDate (RFC 7519 section 2) as whole seconds, rounded down (exp) or
// up (nbf), so that comparing it with a whole `now` gives the same answer as
// comparing the exact value. Values beyond int64 saturate. false if not a number.
bool numeric_date(element v, bool round_up, int64_t* out) {
  switch (v.type()) {
    case element_type::INT64:
      *out = v.get_int64().value_unsafe();
      return true;
    case element_type::UINT64: {
      const uint64_t u = v.get_uint64().value_unsafe();
      *out = u > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                : int64_t(u);
      return true;
    }
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      if (std::isnan(d)) return false;
      d = round_up ? std::ceil(d) : std::floor(d);
      constexpr double kTwo63 = 9223372036854775808.0;
      if (d >= kTwo63) {
        *out = std::numeric_limits<int64_t>::max();
      } else if (d < -kTwo63) {
        *out = std::numeric_limits<int64_t>::min();
      } else {
        *out = static_cast<int64_t>(d);
      }
      return true;
    }
    default:
      return false;
  }
}

// Claims verify() looks at, found in one pass over the payload.
struct Claims {
  bool has_exp = false, has_nbf = false, has_iss = false, has_aud = false;
  bool has_user = false, has_tenant = false, has_agent = false, has_channels = false;
  int64_t exp = 0, nbf = 0;
  element iss, aud, user, tenant, agent, channels;
};

// Records `value` as a claim; false if the claim was already seen.
bool take(bool* seen, element* slot, element value) {
  if (*seen) return false;
  *seen = true;
  *slot = value;
  return true;
}

bool is_string_array(element v) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) return false;
  for (element item : arr) {
    if (!item.is_string()) return false;
  }
  return true;
}

}  // namespace

std::string_view reason(AuthError e) {
  switch (e) {
    case AuthError::none: return "ok";
    case AuthError::missing: return "missing token";
    case AuthError::malformed: return "malformed token";
    case AuthError::unsupported_alg: return "unsupported token algorithm";
    case AuthError::unknown_key:  // deliberately the same as bad_signature
    case AuthError::bad_signature: return "invalid token signature";
    case AuthError::expired: return "token expired";
    case AuthError::not_yet_valid: return "token not yet valid";
    case AuthError::wrong_issuer: return "wrong token issuer";
    case AuthError::wrong_audience: return "wrong token audience";
    case AuthError::too_large: return "token too large";
    case AuthError::missing_claim: return "token lacks a required claim";
  }
  return "invalid token";
}

bool channel_allowed(const Identity& id, std::string_view channel) {
  if (id.any_channel) return true;
  for (const std::string& c : id.channels) {
    if (!c.empty() && c.back() == '*') {
      if (channel.starts_with(std::string_view(c).substr(0, c.size() - 1))) return true;
    } else if (c == channel) {
      return true;
    }
  }
  return false;
}

Verifier::Verifier(std::unique_ptr<State> state) : state_(std::move(state)) {}
Verifier::~Verifier() = default;

size_t Verifier::key_count() const { return state_->keys.size(); }

std::unique_ptr<Verifier> Verifier::create(const AuthConfig& cfg, std::string* error) {
  auto st = std::make_unique<State>();
  if (!st->checker.init()) {
    *error = "OpenSSL lacks SHA-2 or HMAC (provider not loaded?)";
    return nullptr;
  }
  if (!load_keys(cfg, &st->keys, error)) return nullptr;
  if (cfg.user_claim.empty()) {
    *error = "user_claim is empty";
    return nullptr;
  }
  st->issuer = cfg.issuer;
  st->audience = cfg.audience;
  st->user_claim = cfg.user_claim;
  st->tenant_claim = cfg.tenant_claim;
  st->agent_claim = cfg.agent_claim;
  st->channels_claim = cfg.channels_claim;
  st->leeway_s = cfg.leeway_s;
  st->max_token_bytes = cfg.max_token_bytes;
  st->require_exp = cfg.require_exp;
  return std::unique_ptr<Verifier>(new Verifier(std::move(st)));
}

AuthError Verifier::verify(std::string_view token, int64_t now_s, Identity* out) const {
  const State& st = *state_;
  if (token.size() > st.max_token_bytes) return AuthError::too_large;
  if (token.empty()) return AuthError::missing;

  // 2. header.payload.signature
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return AuthError::malformed;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return AuthError::malformed;
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view sig_b64 = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);

  Scratch& s = scratch();
  size_t len = 0;

  // 3. header
  object header;
  if (!decode_segment(header_b64, s, &len) || !parse_object(s, len, &header)) return AuthError::malformed;
  std::string_view alg_name_sv, kid;
  bool has_alg = false, has_kid = false;
  for (simdjson::dom::key_value_pair field : header) {
    if (field.key == "alg") {
      if (has_alg || field.value.get_string().get(alg_name_sv) != simdjson::SUCCESS) return AuthError::malformed;
      has_alg = true;
    } else if (field.key == "kid") {
      if (has_kid || field.value.get_string().get(kid) != simdjson::SUCCESS) return AuthError::malformed;
      has_kid = true;
    } else if (field.key == "crit") {
      return AuthError::malformed;  // RFC 7515 4.1.11: an extension we do not understand
    }
  }
  if (!has_alg) return AuthError::malformed;
  Alg alg;
  if (!parse_alg(alg_name_sv, &alg)) return AuthError::unsupported_alg;

  // 4. candidate keys (kid points into the parser: resolve before the next parse)
  s.candidates.clear();
  for (const Key& k : st.keys) {
    if (!(k.algs & alg_bit(alg))) continue;
    if (has_kid ? !k.kid.empty() && k.kid == kid : k.kid.empty()) s.candidates.push_back(&k);
  }
  if (s.candidates.empty()) return AuthError::unknown_key;

  // 5. signature (the payload must be base64url too before anything is verified)
  const size_t sig_len = base64url_decoded_size(sig_b64.size());
  if (sig_len == kBase64urlInvalidLength) return AuthError::malformed;
  s.sig.resize(sig_len);
  if (!base64url_decode(sig_b64, reinterpret_cast<uint8_t*>(s.sig.data()))) return AuthError::malformed;
  if (!decode_segment(payload_b64, s, &len)) return AuthError::malformed;
  bool verified = false;
  for (const Key* k : s.candidates) {
    if (st.checker.verify(*k, alg, signing_input, reinterpret_cast<const uint8_t*>(s.sig.data()), sig_len)) {
      verified = true;
      break;
    }
  }
  if (!verified) return AuthError::bad_signature;

  // 6. claims
  object payload;
  if (!parse_object(s, len, &payload)) return AuthError::malformed;
  Claims c;
  const bool check_iss = !st.issuer.empty(), check_aud = !st.audience.empty();
  for (simdjson::dom::key_value_pair field : payload) {
    const std::string_view key = field.key;
    // Not else-if: the configured names may coincide with each other or with
    // a registered claim, and then every rule applies.
    if (key == "exp") {
      if (c.has_exp || !numeric_date(field.value, false, &c.exp)) return AuthError::malformed;
      c.has_exp = true;
    }
    if (key == "nbf") {
      if (c.has_nbf || !numeric_date(field.value, true, &c.nbf)) return AuthError::malformed;
      c.has_nbf = true;
    }
    if (check_iss && key == "iss" && !take(&c.has_iss, &c.iss, field.value)) return AuthError::malformed;
    if (check_aud && key == "aud" && !take(&c.has_aud, &c.aud, field.value)) return AuthError::malformed;
    if (key == st.user_claim && !take(&c.has_user, &c.user, field.value)) return AuthError::malformed;
    if (key == st.tenant_claim && !take(&c.has_tenant, &c.tenant, field.value)) return AuthError::malformed;
    if (key == st.agent_claim && !take(&c.has_agent, &c.agent, field.value)) return AuthError::malformed;
    if (key == st.channels_claim && !take(&c.has_channels, &c.channels, field.value)) return AuthError::malformed;
  }

  using Wide = __int128;  // now, exp, nbf and leeway never overflow it
  if (!c.has_exp && st.require_exp) return AuthError::missing_claim;
  if (c.has_exp && Wide{now_s} > Wide{c.exp} + st.leeway_s) return AuthError::expired;
  if (c.has_nbf && Wide{now_s} + st.leeway_s < Wide{c.nbf}) return AuthError::not_yet_valid;

  if (check_iss) {
    std::string_view iss;
    if (!c.has_iss) return AuthError::missing_claim;
    if (c.iss.get_string().get(iss) != simdjson::SUCCESS) return AuthError::malformed;
    if (iss != st.issuer) return AuthError::wrong_issuer;
  }
  if (check_aud) {
    if (!c.has_aud) return AuthError::missing_claim;
    std::string_view aud;
    simdjson::dom::array list;
    if (c.aud.get_string().get(aud) == simdjson::SUCCESS) {
      if (aud != st.audience) return AuthError::wrong_audience;
    } else if (c.aud.get_array().get(list) == simdjson::SUCCESS) {
      bool found = false;
      for (element item : list) {
        if (item.get_string().get(aud) != simdjson::SUCCESS) return AuthError::malformed;
        found = found || aud == st.audience;
      }
      if (!found) return AuthError::wrong_audience;
    } else {
      return AuthError::malformed;
    }
  }

  std::string_view user, tenant, agent;
  if (!c.has_user || c.user.get_string().get(user) != simdjson::SUCCESS || user.empty()) {
    return AuthError::missing_claim;
  }
  if (c.has_tenant && c.tenant.get_string().get(tenant) != simdjson::SUCCESS) return AuthError::malformed;
  if (c.has_agent && c.agent.get_string().get(agent) != simdjson::SUCCESS) return AuthError::malformed;
  if (c.has_channels && !is_string_array(c.channels)) return AuthError::malformed;

  if (out) {
    out->user_id.assign(user);
    out->tenant_id.assign(tenant);
    out->agent_id.assign(agent);
    out->channels.clear();
    out->any_channel = !c.has_channels;
    if (c.has_channels) {
      simdjson::dom::array list;
      if (c.channels.get_array().get(list) == simdjson::SUCCESS) {  // checked by is_string_array
        out->channels.reserve(list.size());
        for (element item : list) out->channels.emplace_back(item.get_string().value_unsafe());
      }
    }
    out->exp = c.has_exp ? std::min(c.exp, kMaxExp) : 0;
  }
  return AuthError::none;
}

}  // namespace ringcast::auth
