"""JWT authentication at the upgrade (docs/PROTOCOLS.md, "Authentication"):
every algorithm, every way a token can be wrong (401 with a short plain-text
reason, no key material, no 101, connection closed), the token sources an
endpoint accepts, key selection by kid and JWKS, the embedded default
config, key rotation on SIGHUP, expiry (close 3000) and refresh.

Keys and tokens are made here (jwtutil: `cryptography` keys, PyJWT tokens,
hand-made ones for what PyJWT refuses to make). Most tests share one server
(`A`) configured with a key per algorithm and no kid, two HS256 keys with
kids, a JWKS file, an issuer and an audience."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import signal
import time
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatusCode

import jwtutil as J
import rawws
from conftest import Server, T, run
from wsutil import check_pong, check_timestamp, connect, endpoint, expect_close, recv_json

ISS = "https://issuer.ringcast.test"
AUD = "ringcast-tests"
ENV = "/api/v1/ws"
PATH_BOUND = "/v1/ws/tenant/{tenant_id}/agent/{agent_id}/channel/{channel_id}"


class AuthServer:
    """The shared server and everything needed to make tokens for it."""

    def __init__(self, srv: Server, ks: J.KeySet, kid_secrets: dict, jwks_keys: dict):
        self.srv = srv
        self.ks = ks
        self.kid_secrets = kid_secrets  # kid -> HS256 secret
        self.jwks_keys = jwks_keys      # kid -> (alg, private key), published in the JWKS file
        self.material = ks.material() + list(kid_secrets.values())

    def claims(self, sub="alice", **kw) -> dict:
        kw.setdefault("iss", ISS)
        kw.setdefault("aud", AUD)
        return J.claims(sub, **kw)

    def token(self, alg="HS256", sub="alice", **kw) -> str:
        return self.ks.sign(self.claims(sub, **kw), alg)

    def refused(self, path, status, token, source="query", **kw) -> str:
        return J.expect_refused(self.srv, path, status, token, source, material=self.material, **kw)

    def accepted(self, path, token, source="query", *, user="alice", **kw) -> rawws.HttpResponse:
        c, resp = J.expect_upgraded(self.srv, path, token, source, **kw)
        with c:
            if path.split("?")[0] in (ENV, "/q", "/h", "/p", "/psub", "/custom"):
                J.read_greeting(c, user)
            c.send_close(1000)
            f = c.expect_close(T(5), allow_data=True)
            assert f.close_code == 1000, f
        return resp


def auth_endpoints() -> list[str]:
    env = dict(rate_limit_per_minute=0, max_errors=1000)
    return [
        endpoint(ENV, "envelope", auth="jwt", **env),
        endpoint("/q", "envelope", auth="jwt", token_sources=["query"], **env),
        endpoint("/h", "envelope", auth="jwt", token_sources=["header"], **env),
        endpoint("/p", "envelope", auth="jwt", token_sources=["protocol"], **env),
        endpoint("/psub", "envelope", auth="jwt", token_sources=["protocol"], subprotocols=["chat.v1"], **env),
        endpoint("/custom", "envelope", auth="jwt", token_param="access_token", token_protocol_prefix="auth-", **env),
        endpoint("/v1/ws", "channel", auth="jwt"),
        endpoint(PATH_BOUND, "channel", auth="jwt"),
        endpoint("/v1", "action", auth="jwt"),
        endpoint("/echo", "echo"),
        endpoint("/open", "envelope", auth="none", **env),
    ]


@pytest.fixture(scope="module")
def A(tmp_path_factory):
    d = tmp_path_factory.mktemp("auth")
    ks = J.KeySet(d / "keys")
    kid_secrets = {"ka": J.new_secret("ka"), "kb": J.new_secret("kb")}
    jwks_keys = {"jw-rs": ("RS256", J.new_private_key("RS256")),
                 "jw-es": ("ES256", J.new_private_key("ES256")),
                 "jw-ed": ("EdDSA", J.new_private_key("EdDSA"))}
    jwks_path = d / "jwks.json"
    jwks_path.write_text(J.jwks_doc([(kid, alg, k) for kid, (alg, k) in jwks_keys.items()]))
    keys = ks.key_entries(with_kid=False) + [J.key_entry("HS256", kid=k, secret=s) for k, s in kid_secrets.items()]
    cfg = J.jwt_config(*auth_endpoints(), keys=keys, server={"max_request_head_bytes": 65536},
                       issuer=ISS, audience=AUD, leeway_s=30, jwks_file=str(jwks_path))
    srv = Server(config=cfg, threads=2, tmpdir=d)
    a = AuthServer(srv, ks, kid_secrets, jwks_keys)
    yield a
    if not srv.checked:
        srv.stop()


@pytest.fixture
def a(A):
    A.srv.assert_healthy()
    yield A
    time.sleep(0.02)
    A.srv.assert_healthy()


# --------------------------------------------------------------------------
# algorithms and signatures
# --------------------------------------------------------------------------

@pytest.mark.parametrize("alg", J.ALGS)
def test_each_algorithm_accepted(a, alg):
    sub = f"user-{alg.lower()}"
    tok = a.token(alg, sub)
    assert J.verify(tok, a.ks.signing_key(alg), alg, audience=AUD, issuer=ISS)["sub"] == sub
    a.accepted(ENV, tok, user=sub)


@pytest.mark.parametrize("alg", J.ALGS)
def test_tampered_payload_refused(a, alg):
    tok = a.token(alg, "alice")
    a.accepted(ENV, tok)  # the original is fine
    a.refused(ENV, 401, J.tamper_payload(tok, sub="mallory"))
    a.refused(ENV, 401, J.tamper_payload(tok, exp=J.now() + 86400 * 365))


@pytest.mark.parametrize("alg", J.ALGS)
def test_tampered_signature_refused(a, alg):
    tok = a.token(alg)
    a.refused(ENV, 401, J.tamper_signature(tok))
    h, p, s = tok.split(".")
    a.refused(ENV, 401, f"{h}.{p}.")              # signature removed
    a.refused(ENV, 401, f"{h}.{p}.{s[: len(s) // 2]}")  # truncated


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256"])
def test_header_alg_swapped_refused(a, alg):
    """The same signature under a header naming another alg of the family."""
    other = {"HS256": "HS512", "RS256": "RS512", "ES256": "ES384"}[alg]
    h, p, s = a.token(alg).split(".")
    hdr = J.parts(f"{h}.{p}.{s}")[0] | {"alg": other}
    a.refused(ENV, 401, f"{J.seg(hdr)}.{p}.{s}")


NONE_HEADERS = {
    "none": {"alg": "none", "typ": "JWT"},
    "None": {"alg": "None", "typ": "JWT"},
    "NONE": {"alg": "NONE"},
    "nOnE_with_kid": {"alg": "nOnE", "kid": "ka"},
    "none_no_typ": {"alg": "none"},
}


@pytest.mark.parametrize("header", list(NONE_HEADERS.values()), ids=list(NONE_HEADERS))
def test_alg_none_refused(a, header):
    payload = a.claims("admin")
    a.refused(ENV, 401, J.forge(header, payload))                     # empty signature
    a.refused(ENV, 401, J.forge(header, payload).rstrip("."))          # two parts
    # a real signature from a valid key kept after the header was replaced
    sig = a.token("HS256", "admin").split(".")[2]
    a.refused(ENV, 401, J.forge(header, payload) + sig)


def test_alg_missing_or_not_a_string_refused(a):
    payload = a.claims()
    for header in ({"typ": "JWT"}, {"alg": 256}, {"alg": None}, {"alg": ["HS256"]}, {"alg": ""}):
        tok = J.hs_sign_raw(header, payload, a.ks.secret["HS256"].encode())
        a.refused(ENV, 401, tok)


def test_unsupported_alg_refused(a):
    # PS256 with the very RSA key configured (as RS256): still not accepted
    tok = J.sign(a.claims(), a.ks.private["RS256"], "PS256")
    a.refused(ENV, 401, tok)
    # HMAC with SHA-1 is nothing a key is configured for
    tok = J.hs_sign_raw({"alg": "HS1", "typ": "JWT"}, a.claims(), a.ks.secret["HS256"].encode(), "sha1")
    a.refused(ENV, 401, tok)


CONFUSION = {
    "kid_pem": ("rsa1", lambda pem: pem),
    "no_kid_pem": (None, lambda pem: pem),
    "kid_pem_stripped": ("rsa1", lambda pem: pem.strip()),
    "no_kid_pem_crlf": (None, lambda pem: pem.replace(b"\n", b"\r\n")),
}


@pytest.mark.parametrize("kid,mangle", list(CONFUSION.values()), ids=list(CONFUSION))
def test_hs256_signed_with_rsa_public_key_refused(server_factory, tmp_path, kid, mangle):
    """Key confusion: the RS256 key's public PEM used as an HMAC secret."""
    ks = J.KeySet(tmp_path / "confusion")
    pem = Path(ks.pem_path["RS256"]).read_bytes()
    srv = server_factory(config=J.jwt_config(
        endpoint(ENV, "envelope", auth="jwt", rate_limit_per_minute=0),
        keys=[J.key_entry("RS256", kid="rsa1", pem_file=ks.pem_path["RS256"]),
              J.key_entry("RS256", pem_file=ks.pem_path["RS256"])]))
    good = ks.sign(J.claims("carol"), "RS256", kid=kid)
    c, _ = J.expect_upgraded(srv, ENV, good)  # the key itself works
    with c:
        J.read_greeting(c, "carol")
    header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
    bad = J.hs_sign_raw(header, J.claims("carol"), mangle(pem))
    J.expect_refused(srv, ENV, 401, bad, material=ks.material())
    # the same with HS384/HS512 names
    for alg, h in (("HS384", "sha384"), ("HS512", "sha512")):
        bad = J.hs_sign_raw(header | {"alg": alg}, J.claims("carol"), mangle(pem), h)
        J.expect_refused(srv, ENV, 401, bad, material=ks.material())


# --------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------

@pytest.mark.parametrize("exp_in", [-45, -3600], ids=["past_leeway", "an_hour_ago"])
def test_expired_refused(a, exp_in):
    body = a.refused(ENV, 401, a.token(exp_in=exp_in))
    assert "expired" in body.lower(), body


def test_not_yet_valid_refused(a):
    a.refused(ENV, 401, a.token(nbf_in=120))
    a.refused(ENV, 401, a.token(nbf_in=45))


def test_within_leeway_accepted(a):
    a.accepted(ENV, a.token(exp_in=-10))               # expired 10 s ago, leeway 30
    a.accepted(ENV, a.token(nbf_in=10))                # valid in 10 s
    a.accepted(ENV, a.token(exp_in=-10, nbf_in=10))


def test_missing_exp_refused(a):
    # require_exp = true (the default)
    a.refused(ENV, 401, a.token(exp_in=None))


def test_exp_not_a_number_refused(a):
    for exp in ("9999999999", None, [J.now() + 60], {"t": 1}):
        a.refused(ENV, 401, a.ks.sign(a.claims(exp_in=None, exp=exp), "HS256"))


@pytest.mark.parametrize("iss", ["https://evil.test", ISS + "/", "", None], ids=["other", "suffix", "empty", "missing"])
def test_wrong_issuer_refused(a, iss):
    kw = {"iss": iss} if iss is not None else {"iss": J.OMIT}
    a.refused(ENV, 401, a.token(**kw))


@pytest.mark.parametrize("aud,ok", [
    (AUD, True), ([AUD], True), (["other", AUD], True),
    ("other", False), (["other", "more"], False), ([], False), (None, False), (AUD.upper(), False),
], ids=["string", "array_of_one", "array_containing", "other", "array_without", "empty_array", "missing",
        "case_differs"])
def test_audience(a, aud, ok):
    tok = a.token(aud=J.OMIT if aud is None else aud)
    if ok:
        a.accepted(ENV, tok)
    else:
        a.refused(ENV, 401, tok)


def test_user_id_is_the_sub_claim(a):
    for sub in ("u-1", "user@example.com", "Zoë ✓"):
        a.accepted(ENV, a.token(sub=sub), user=sub)


# --------------------------------------------------------------------------
# kid and JWKS
# --------------------------------------------------------------------------

def test_unknown_kid_refused(a):
    # signed with a configured (kid-less) secret, but naming a kid nobody has
    a.refused(ENV, 401, a.ks.sign(a.claims(), "HS256", kid="nope"))
    a.refused(ENV, 401, a.ks.sign(a.claims(), "RS256", kid="nope"))
    a.refused(ENV, 401, a.ks.sign(a.claims(), "HS256", kid=""))


def test_kid_selects_the_key(a):
    sa, sb = a.kid_secrets["ka"], a.kid_secrets["kb"]
    a.accepted(ENV, J.sign(a.claims(), sa, "HS256", kid="ka"))
    a.accepted(ENV, J.sign(a.claims(), sb, "HS256", kid="kb"))
    a.refused(ENV, 401, J.sign(a.claims(), sb, "HS256", kid="ka"))
    a.refused(ENV, 401, J.sign(a.claims(), sa, "HS256", kid="kb"))
    # a kid's key accepts only its own alg
    a.refused(ENV, 401, J.sign(a.claims(), sa, "HS512", kid="ka"))
    # without kid, the kid-less HS256 key is used, not ka's
    a.refused(ENV, 401, J.sign(a.claims(), sa, "HS256"))


@pytest.mark.parametrize("kid", ["jw-rs", "jw-es", "jw-ed"])
def test_jwks_key_by_kid(a, kid):
    alg, key = a.jwks_keys[kid]
    a.accepted(ENV, J.sign(a.claims("jwks-user"), key, alg, kid=kid), user="jwks-user")
    # the JWKS key is found by kid only
    a.refused(ENV, 401, J.sign(a.claims(), key, alg))
    # another key under that kid
    other = [k for k, (al, _) in a.jwks_keys.items() if k != kid][0]
    a.refused(ENV, 401, J.sign(a.claims(), a.jwks_keys[other][1], a.jwks_keys[other][0], kid=kid))
    # a fresh key of the same kind under that kid
    a.refused(ENV, 401, J.sign(a.claims(), J.new_private_key(alg), alg, kid=kid))


# --------------------------------------------------------------------------
# malformed and oversized
# --------------------------------------------------------------------------

MALFORMED = {
    "empty": "",
    "one_part": "abc",
    "two_parts": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0",
    "four_parts": "a.b.c.d",
    "dots": "..",
    "not_base64": "eyJhbGciOiJIUzI1NiJ9.!!!.abc",
    "padded_base64": "eyJhbGciOiJIUzI1NiJ9==.eyJzdWIiOiJhIn0=.abc",
    "header_not_json": J.b64url("not json") + "." + J.b64url('{"sub":"a"}') + ".c2ln",
    "payload_not_json": J.b64url('{"alg":"HS256"}') + "." + J.b64url("{sub") + ".c2ln",
    "payload_array": J.b64url('{"alg":"HS256"}') + "." + J.b64url('["sub"]') + ".c2ln",
    "header_array": J.b64url('["HS256"]') + "." + J.b64url('{"sub":"a"}') + ".c2ln",
    "spaces": "a b.c d.e f",
    "garbage": "\x01\x02\x03",
}


@pytest.mark.parametrize("tok", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_token_refused(a, tok):
    a.refused(ENV, 401, tok)


def test_malformed_payload_with_valid_signature_refused(a):
    """Well signed, but the payload is no JSON object: still 401."""
    secret = a.ks.secret["HS256"].encode()
    for payload in ('["a"]', "123", '"str"', "{bad json", '{"exp":1e999}'):
        si = J.b64url('{"alg":"HS256","typ":"JWT"}') + "." + J.b64url(payload)
        tok = si + "." + J.b64url(hmac.new(secret, si.encode(), hashlib.sha256).digest())
        a.refused(ENV, 401, tok)


def _token_of_length(a, target: int, below: bool) -> str:
    """A valid HS256 token whose length is the largest <= target (below) or
    the smallest > target (not below)."""
    best = None
    for n in range(max(0, target * 3 // 4 - 400), target * 3 // 4 + 40):
        tok = a.token(pad="x" * n)
        if below and len(tok) <= target:
            best = tok
        if not below and len(tok) > target:
            return tok
    assert best is not None
    return best


@pytest.mark.parametrize("source", ["query", "header", "protocol"])
def test_oversized_token_refused(a, source):
    limit = 8192  # max_token_bytes default
    small = _token_of_length(a, limit, True)
    big = _token_of_length(a, limit, False)
    assert limit - 8 <= len(small) <= limit < len(big) <= limit + 8, (len(small), len(big))
    a.accepted(ENV, small, source)
    a.refused(ENV, 401, big, source)
    a.refused(ENV, 401, a.token(pad="y" * 30000), source)


# --------------------------------------------------------------------------
# token sources
# --------------------------------------------------------------------------

SOURCES = [
    (ENV, "query", True), (ENV, "header", True), (ENV, "protocol", True),
    ("/q", "query", True), ("/q", "header", False), ("/q", "protocol", False),
    ("/h", "header", True), ("/h", "query", False), ("/h", "protocol", False),
    ("/p", "protocol", True), ("/p", "query", False), ("/p", "header", False),
]


@pytest.mark.parametrize("path,source,ok", SOURCES, ids=[f"{p.strip('/').replace('/', '_')}-{s}" for p, s, _ in SOURCES])
def test_token_sources(a, path, source, ok):
    tok = a.token()
    if ok:
        resp = a.accepted(path, tok, source)
        if source == "protocol":
            assert resp.header("Sec-WebSocket-Protocol") == "bearer." + tok, resp
        else:
            assert resp.header("Sec-WebSocket-Protocol") is None, resp
    else:
        # a token in a source the endpoint does not accept counts as missing
        a.refused(path, 401, tok, source)


def test_protocol_token_among_other_subprotocols(a):
    tok = a.token()
    # the endpoint selects no other subprotocol: the bearer entry is echoed
    resp = a.accepted("/p", tok, "protocol", protocols=["x-unknown"])
    assert resp.header("Sec-WebSocket-Protocol") == "bearer." + tok, resp
    # the endpoint selects chat.v1: that is the answer, the token still counts
    resp = a.accepted("/psub", tok, "protocol", protocols=["chat.v1"])
    assert resp.header("Sec-WebSocket-Protocol") == "chat.v1", resp
    resp = a.accepted("/psub", tok, "protocol")
    assert resp.header("Sec-WebSocket-Protocol") == "bearer." + tok, resp
    # without a token the subprotocol alone does not authenticate
    a.refused("/psub", 401, None, protocols=["chat.v1"])
    # a bad token in the protocol entry
    a.refused("/p", 401, J.tamper_signature(tok), "protocol", protocols=["x-unknown"])


def test_query_token_is_percent_decoded(a):
    tok = a.token()
    enc = "".join(f"%{b:02X}" for b in tok.encode())
    a.accepted(f"{ENV}?token={enc}", None)
    a.accepted(f"{ENV}?x=1&token={enc}&y=2", None)
    # a percent-encoded tampered token is still refused
    bad = "".join(f"%{b:02x}" for b in J.tamper_signature(tok).encode())
    a.refused(f"{ENV}?token={bad}", 401, None)


def test_authorization_header_needs_bearer(a):
    tok = a.token()
    for value in (tok, f"Basic {tok}", f"Token {tok}", "Bearer", "Bearer "):
        a.refused(ENV, 401, None, extra=[("Authorization", value)])


def test_custom_token_param_and_prefix(a):
    tok = a.token()
    a.accepted("/custom", tok, "query", param="access_token")
    a.refused("/custom", 401, tok, "query")  # ?token= is just another parameter here
    resp = a.accepted("/custom", tok, "protocol", prefix="auth-")
    assert resp.header("Sec-WebSocket-Protocol") == "auth-" + tok, resp
    a.refused("/custom", 401, tok, "protocol")  # bearer.<t> is not this endpoint's prefix
    a.accepted("/custom", tok, "header")


MISSING = [ENV, "/q", "/h", "/p", "/custom", "/v1/ws", "/v1/ws?channel_id=room-1",
           "/v1/ws/tenant/t1/agent/a1/channel/room-1", "/v1"]


@pytest.mark.parametrize("path", MISSING)
def test_missing_token_refused(a, path):
    body = a.refused(path, 401, None)
    low = body.lower()
    assert "token" in low or "required" in low or "missing" in low, body


def test_path_bound_bad_token_is_401_not_403(a):
    # the token is checked before the path is matched against it
    bad = J.tamper_signature(a.token(tenant="t1", agent="a1"))
    a.refused("/v1/ws/tenant/t1/agent/a1/channel/room-1", 401, bad)
    a.refused("/v1/ws/tenant/t2/agent/a9/channel/room-1", 401, bad)


def test_open_endpoints_need_no_token(a):
    srv = a.srv
    with rawws.open_ws(srv.host, srv.port, "/echo", T(5)) as c:
        c.send_text("hi")
        assert c.read_message(T(5)) == (rawws.OP_TEXT, b"hi")
    c, _ = J.expect_upgraded(srv, "/open", None)
    with c:
        J.read_greeting(c, "anonymous")


def test_websockets_client_with_each_source(a):
    async def main():
        tok = a.token(sub="ws-client")
        for source in ("query", "header", "protocol"):
            url, kw = J.ws_url(a.srv, ENV, tok, source)
            async with connect(url, **kw) as ws:
                J.check_connected(await recv_json(ws), "ws-client")
                if source == "protocol":
                    assert ws.subprotocol == "bearer." + tok
                await ws.send('{"type":"ping","request_id":"p"}')
                check_pong(await recv_json(ws), "p")
        with pytest.raises(InvalidStatusCode) as ei:
            async with connect(a.srv.url(ENV)):
                pass
        assert ei.value.status_code == 401
    run(main())


def test_many_refusals_then_a_good_token(a):
    """Many refused upgrades in a row (bad, expired, missing) then a good one."""
    for i in range(30):
        tok = [None, J.tamper_signature(a.token()), a.token(exp_in=-3600)][i % 3]
        a.refused(ENV, 401, tok)
    a.accepted(ENV, a.token())


# --------------------------------------------------------------------------
# the embedded default config and secret_env
# --------------------------------------------------------------------------

def test_default_config_uses_jwt_secret_from_env(server_factory):
    secret = J.new_secret("default")
    # no --config: the embedded default, its key from RINGCAST_JWT_SECRET
    srv = server_factory(threads=2, env={"RINGCAST_JWT_SECRET": secret})
    tok = J.sign(J.claims("dflt", tenant="t1", agent="a1"), secret, "HS256")
    for path in (ENV, "/v1/ws", "/v1/ws?channel_id=room-1", "/v1/ws/tenant/t1/agent/a1/channel/room-1", "/v1"):
        J.expect_refused(srv, path, 401, None, material=[secret])
        J.expect_refused(srv, path, 401, J.tamper_signature(tok), material=[secret])
        J.expect_refused(srv, path, 401, J.sign(J.claims("dflt"), "not-the-secret", "HS256"), material=[secret])
        c, _ = J.expect_upgraded(srv, path, tok)
        with c:
            if path == ENV:
                J.read_greeting(c, "dflt")
    # path parameters must match the token
    J.expect_refused(srv, "/v1/ws/tenant/t2/agent/a1/channel/room-1", 403, tok, material=[secret])
    # /echo and /ws/ stay open
    for path in ("/echo", "/ws/"):
        with rawws.open_ws(srv.host, srv.port, path, T(5)):
            pass


def test_secret_env_key(server_factory):
    secret = J.new_secret("env")
    srv = server_factory(config=J.jwt_config(
        endpoint(ENV, "envelope", auth="jwt", rate_limit_per_minute=0),
        keys=[J.key_entry("HS384", secret_env="RINGCAST_TEST_JWT_KEY")]), env={"RINGCAST_TEST_JWT_KEY": secret})
    c, _ = J.expect_upgraded(srv, ENV, J.sign(J.claims("envy"), secret, "HS384"))
    with c:
        J.read_greeting(c, "envy")
    J.expect_refused(srv, ENV, 401, J.sign(J.claims("envy"), "RINGCAST_TEST_JWT_KEY", "HS384"), material=[secret])


# --------------------------------------------------------------------------
# SIGHUP: key rotation
# --------------------------------------------------------------------------

def _rotation_config(keys) -> str:
    return J.jwt_config(endpoint(ENV, "envelope", auth="jwt", rate_limit_per_minute=0),
                        endpoint("/v1/ws", "channel", auth="jwt"), keys=keys)


def _poll_status(srv, token, want: int, timeout: float = 5) -> None:
    """Upgrade attempts until one is answered with `want` (SIGHUP is handled
    asynchronously)."""
    deadline = time.monotonic() + T(timeout)
    while True:
        c, resp, _ = J.try_upgrade(srv, ENV, token)
        c.close()
        if resp.status == want:
            return
        assert time.monotonic() < deadline, f"still {resp.status} (want {want}) {T(timeout)}s after SIGHUP: {resp!r}"
        time.sleep(0.05)


def test_sighup_rotates_keys(server_factory):
    s1, s2 = J.new_secret("k1"), J.new_secret("k2")
    srv = server_factory(config=_rotation_config([J.key_entry("HS256", kid="k1", secret=s1)]))
    t1 = lambda sub="x": J.sign(J.claims(sub), s1, "HS256", kid="k1")  # noqa: E731
    t2 = lambda sub="y": J.sign(J.claims(sub), s2, "HS256", kid="k2")  # noqa: E731
    J.expect_refused(srv, ENV, 401, t2(), material=[s1, s2])

    async def main():
        x = await J.EnvClient.open(srv, ENV, t1("x"), "x")
        await x.ping("before")
        srv.config_path.write_text(_rotation_config([J.key_entry("HS256", kid="k2", secret=s2)]))
        srv.signal(signal.SIGHUP)
        await asyncio.get_running_loop().run_in_executor(None, _poll_status, srv, t2(), 101)
        await asyncio.get_running_loop().run_in_executor(None, _poll_status, srv, t1(), 401)
        await x.ping("after")  # the connection made with k1 lives on
        y = await J.EnvClient.open(srv, ENV, t2("y"), "y")
        await y.ping()
        await x.close()
        await y.close()
    run(main())
    J.expect_refused(srv, ENV, 401, t1(), material=[s1, s2])
    srv.assert_healthy()


BAD_RELOADS = {
    "missing_pem": lambda d: _rotation_config([J.key_entry("RS256", kid="k3", pem_file=str(d / "does-not-exist.pem"))]),
    "pem_not_a_key": lambda d: (d / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    and _rotation_config([J.key_entry("RS256", kid="k3", pem_file=str(d / "junk.pem"))]),
    "toml_syntax": lambda d: "[auth\nthis is = not toml",
    "unknown_alg": lambda d: _rotation_config([J.key_entry("XS256", kid="k3", secret="s")]),
    "unknown_auth_key": lambda d: _rotation_config([J.key_entry("HS256", kid="k3", secret="s")]).replace(
        "[auth]\n", "[auth]\nno_such_setting = 1\n"),
}


@pytest.mark.parametrize("bad", list(BAD_RELOADS.values()), ids=list(BAD_RELOADS))
def test_sighup_bad_config_keeps_old_keys(server_factory, tmp_path, bad):
    s2 = J.new_secret("k2")
    srv = server_factory(config=_rotation_config([J.key_entry("HS256", kid="k2", secret=s2)]))
    t2 = J.sign(J.claims("y"), s2, "HS256", kid="k2")
    c, _ = J.expect_upgraded(srv, ENV, t2)
    c.close()

    async def main():
        y = await J.EnvClient.open(srv, ENV, t2, "y")
        srv.config_path.write_text(bad(tmp_path))
        srv.signal(signal.SIGHUP)
        await asyncio.sleep(T(0.5))
        assert srv.alive(), f"a bad config on SIGHUP stopped the server:\n{srv.stderr}"
        await y.ping()
        y2 = await J.EnvClient.open(srv, ENV, t2, "y")
        await y2.ping()
        await y.close()
        await y2.close()
    run(main())
    c, _ = J.expect_upgraded(srv, ENV, t2)
    c.close()
    # and a good config afterwards is taken
    s4 = J.new_secret("k4")
    srv.config_path.write_text(_rotation_config([J.key_entry("HS256", kid="k4", secret=s4)]))
    srv.signal(signal.SIGHUP)
    _poll_status(srv, J.sign(J.claims("z"), s4, "HS256", kid="k4"), 101)
    _poll_status(srv, t2, 401)
    srv.assert_healthy()


# --------------------------------------------------------------------------
# expiry and refresh
# --------------------------------------------------------------------------

SECRET_E = J.new_secret("expiry")


def _expiry_server(server_factory):
    return server_factory(config=J.jwt_config(
        endpoint("/env", "envelope", auth="jwt", rate_limit_per_minute=0, max_errors=1000),
        endpoint("/chan", "channel", auth="jwt"),
        endpoint("/act", "action", auth="jwt"),
        keys=[J.key_entry("HS256", secret=SECRET_E)], leeway_s=0))


def _tok(sub="u1", exp_in=2, **kw) -> str:
    kw.setdefault("tenant", "t1")
    kw.setdefault("agent", "a1")
    return J.sign(J.claims(sub, exp_in=exp_in, **kw), SECRET_E, "HS256")


def test_expired_connection_closed_3000(server_factory):
    srv = _expiry_server(server_factory)

    async def main():
        t0 = time.monotonic()
        env = await J.EnvClient.open(srv, "/env", _tok(), "u1")
        url, kw = J.ws_url(srv, "/chan", _tok(), channel_id="room-x")
        chan = await connect(url, **kw)
        url, kw = J.ws_url(srv, "/act", _tok())
        act = await connect(url, **kw)
        await env.ping()
        await asyncio.gather(
            expect_close(env.ws, 3000, "token expired", timeout=6),
            expect_close(chan, 3000, "token expired", timeout=6),
            expect_close(act, 3000, "token expired", timeout=6))
        took = time.monotonic() - t0
        assert took >= 0.5, f"closed after {took:.2f}s, before the token expired"
    run(main())
    srv.assert_healthy()


def test_refresh_extends_the_connection(server_factory):
    srv = _expiry_server(server_factory)

    async def main():
        t0 = time.monotonic()
        env = await J.EnvClient.open(srv, "/env", _tok(), "u1")
        url, kw = J.ws_url(srv, "/chan", _tok(), channel_id="room-r")
        chan = J.ChanClient(await connect(url, **kw))
        url, kw = J.ws_url(srv, "/act", _tok())
        act = J.JsonClient(await connect(url, **kw))
        # a control connection that does not refresh
        ctl = await J.EnvClient.open(srv, "/env", _tok(), "u1")

        new = _tok(exp_in=120)
        exp = J.parts(new)[1]["exp"]
        m = await env.request({"type": "refresh", "data": {"token": new}, "request_id": "r"})
        J.check_reply(m, "refreshed", "r", {"expires_at": exp})
        assert type(m["data"]["expires_at"]) is int, m
        m = await chan.request({"type": "refresh", "token": new})
        assert m.get("type") == "ACK", m
        check_timestamp(m["timestamp"])
        m = await act.request({"action": "refresh", "token": new})
        assert m.get("type") == "refreshed", m

        await expect_close(ctl.ws, 3000, "token expired", timeout=6)
        await asyncio.sleep(max(0.0, 3.5 - (time.monotonic() - t0)))  # well past the first exp
        await env.ping("still-here")
        await chan.ping()
        m = await act.request({"action": "ping"})
        assert m.get("type") == "pong", m
        for c in (env, chan, act):
            await c.close()
    run(main())
    srv.assert_healthy()


def test_refresh_refused_keeps_the_old_token(server_factory):
    srv = _expiry_server(server_factory)
    refusals = {
        "garbage": ("not-a-token", "UNAUTHORIZED"),
        "tampered": (J.tamper_signature(_tok(exp_in=120)), "UNAUTHORIZED"),
        "expired": (_tok(exp_in=-60), "UNAUTHORIZED"),
        "wrong_key": (J.sign(J.claims("u1", tenant="t1", agent="a1"), "other-secret", "HS256"), "UNAUTHORIZED"),
        "other_sub": (_tok(sub="u2", exp_in=120), "FORBIDDEN"),
        "other_tenant": (_tok(tenant="t2", exp_in=120), "FORBIDDEN"),
        "other_agent": (_tok(agent="a2", exp_in=120), "FORBIDDEN"),
    }

    async def main():
        conns = {k: await J.EnvClient.open(srv, "/env", _tok(exp_in=3), "u1") for k in refusals}
        for k, (tok, code) in refusals.items():
            m = await conns[k].request({"type": "refresh", "data": {"token": tok}, "request_id": k})
            J.check_error(m, code, k)
            await conns[k].ping()  # still open on the old token
        # missing token
        m = await conns["garbage"].request({"type": "refresh", "data": {}, "request_id": "none"})
        assert m["type"] == "error" and m["data"]["error_code"] in ("MISSING_FIELD", "UNAUTHORIZED"), m
        # each is closed when the old token expires
        await asyncio.gather(*(expect_close(c.ws, 3000, "token expired", timeout=7) for c in conns.values()))
    run(main())

    async def channel_and_action():
        url, kw = J.ws_url(srv, "/chan", _tok(exp_in=60), channel_id="room-q")
        chan = J.ChanClient(await connect(url, **kw))
        m = await chan.request({"type": "refresh", "token": _tok(sub="u2", exp_in=120)})
        assert m.get("type") == "ERROR" and m.get("error_code") == "FORBIDDEN", m
        m = await chan.request({"type": "refresh", "token": "garbage"})
        assert m.get("type") == "ERROR" and m.get("error_code") == "UNAUTHORIZED", m
        await chan.ping()
        url, kw = J.ws_url(srv, "/act", _tok(exp_in=60))
        act = J.JsonClient(await connect(url, **kw))
        m = await act.request({"action": "refresh", "token": _tok(tenant="t9", exp_in=120)})
        assert m.get("type") == "error" and m.get("error_code") == "FORBIDDEN", m
        m = await act.request({"action": "refresh", "token": "garbage"})
        assert m.get("type") == "error" and m.get("error_code") == "UNAUTHORIZED", m
        await chan.close()
        await act.close()
    run(channel_and_action())
    srv.assert_healthy()


def test_refresh_leaves_channels_the_new_token_does_not_allow(server_factory):
    srv = _expiry_server(server_factory)

    async def main():
        sub = await J.EnvClient.open(srv, "/env", _tok(exp_in=60, channels=["news*", "ops"]), "u1")
        pub = await J.EnvClient.open(srv, "/env", _tok(sub="u2", exp_in=60), "u2")
        await sub.subscribe(["news-1", "ops"])
        # The new token narrows the channels claim: "ops" is left, "news-1" stays.
        m = await sub.request({"type": "refresh", "data": {"token": _tok(exp_in=120, channels=["news*"])},
                               "request_id": "r"})
        J.check_reply(m, "refreshed", "r", {"expires_at": m["data"]["expires_at"]})
        await pub.publish("ops", data={"n": 1}, rid="p1")
        await pub.publish("news-1", data={"n": 2}, rid="p2")
        got = await sub.recv()
        assert got.get("channel") == "news-1" and got["data"] == {"n": 2}, got
        # and a new subscription to "ops" is refused now
        m = await sub.request({"type": "subscribe", "data": {"channels": ["ops"]}, "request_id": "s2"})
        J.check_error(m, "FORBIDDEN", "s2")
        await sub.close()
        await pub.close()
    run(main())
    srv.assert_healthy()
