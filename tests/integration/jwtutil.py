"""Helpers shared by the JWT tests (test_auth, test_tenancy, test_presence):

- keys: `KeySet` makes one secret or key pair per algorithm (HS256..EdDSA)
  with `cryptography` and writes the public keys as SPKI PEM files;
- tokens: `claims` builds a payload, `sign` signs it with PyJWT, and `forge`,
  `hs_sign_raw`, `tamper_payload`, `tamper_signature` make the tokens PyJWT
  refuses to make (alg none, an HMAC over a public key PEM, edited parts);
- configs: `key_entry`, `jwt_config` and `jwks_doc` write the [auth] /
  [[auth.key]] tables and JWKS documents of docs/PROTOCOLS.md
  ("Authentication");
- upgrades on raw sockets: `try_upgrade`, `expect_refused` (401/403: status
  line, short plain-text body without key material, no 101, connection
  closed) and `expect_upgraded`;
- python-websockets clients that carry a token: `token_kw`, `EnvClient`
  (envelope profile, greeting checked), `ChanClient` (channel profile), and
  the envelope reply/error checks.

Every wait takes unscaled seconds and goes through conftest.T."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from pathlib import Path
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import rawws
from conftest import T
from wsutil import SESSION_RE, JsonClient, _table, check_timestamp, connect, strict_json

ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"]
HS_ALGS = ["HS256", "HS384", "HS512"]
OMIT = object()  # "leave this claim out" for claims()


# --------------------------------------------------------------------------
# base64url and raw tokens
# --------------------------------------------------------------------------

def b64url(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def seg(obj) -> str:
    """One token part: dicts JSON-encoded (compact), then base64url."""
    return b64url(obj if isinstance(obj, (bytes, str)) else json.dumps(obj, separators=(",", ":")))


def forge(header, payload, signature: bytes = b"") -> str:
    """A token from its parts as given (dicts are JSON-encoded, bytes/str
    taken as is), with no signing at all."""
    return f"{seg(header)}.{seg(payload)}.{b64url(signature)}"


def hs_sign_raw(header: dict, payload: dict, secret: bytes, hash_name: str = "sha256") -> str:
    """An HMAC-signed token with any secret bytes (PyJWT refuses to use a
    PEM as an HMAC secret, which is the point of the alg-confusion test)."""
    signing_input = f"{seg(header)}.{seg(payload)}"
    sig = hmac.new(secret, signing_input.encode("ascii"), getattr(hashlib, hash_name)).digest()
    return f"{signing_input}.{b64url(sig)}"


def parts(token: str) -> tuple[dict, dict, bytes]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), b64url_decode(s)


def tamper_payload(token: str, **changes) -> str:
    """The same header and signature over a payload with `changes` applied."""
    h, p, s = token.split(".")
    payload = json.loads(b64url_decode(p))
    payload.update(changes)
    return f"{h}.{seg(payload)}.{s}"


def tamper_signature(token: str) -> str:
    """One bit of the signature's middle byte flipped (re-encoded, so the
    change is in the bytes and not in base64url padding bits)."""
    h, p, s = token.split(".")
    sig = bytearray(b64url_decode(s))
    sig[len(sig) // 2] ^= 0x01
    return f"{h}.{p}.{b64url(bytes(sig))}"


# --------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------

def _spki_pem(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def new_secret(tag: str = "hs") -> str:
    """A random HMAC secret, printable, easy to look for in HTTP bodies."""
    return f"{tag}-secret-{secrets.token_hex(20)}"


def new_private_key(alg: str):
    if alg.startswith("RS"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(alg)


class KeySet:
    """One key per algorithm: an HMAC secret for HS*, one RSA key shared by
    RS256/384/512, a P-256 key, a P-384 key and an Ed25519 key. Public keys
    are written to `directory` as SPKI PEM files."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        self.secret = {a: new_secret(a.lower()) for a in HS_ALGS}
        rsa_key = new_private_key("RS256")
        self.private = {"RS256": rsa_key, "RS384": rsa_key, "RS512": rsa_key,
                        "ES256": new_private_key("ES256"), "ES384": new_private_key("ES384"),
                        "EdDSA": new_private_key("EdDSA")}
        self.pem: dict[str, bytes] = {}
        self.pem_path: dict[str, str] = {}
        for alg, k in self.private.items():
            pem = _spki_pem(k.public_key())
            name = "rsa" if alg.startswith("RS") else alg.lower()
            path = directory / f"{name}-{secrets.token_hex(4)}.pub.pem" if alg not in ("RS384", "RS512") \
                else Path(self.pem_path["RS256"])
            if not path.exists():
                path.write_bytes(pem)
            self.pem[alg] = pem
            self.pem_path[alg] = str(path)

    def signing_key(self, alg: str):
        return self.secret[alg] if alg in HS_ALGS else self.private[alg]

    def sign(self, payload: dict, alg: str, kid: str | None = None, **headers) -> str:
        return sign(payload, self.signing_key(alg), alg, kid, **headers)

    def key_entries(self, with_kid: bool = False) -> list[dict]:
        """One [[auth.key]] per algorithm (kid = the alg's name when asked)."""
        out = []
        for alg in ALGS:
            kid = alg.lower() if with_kid else None
            if alg in HS_ALGS:
                out.append(key_entry(alg, kid=kid, secret=self.secret[alg]))
            else:
                out.append(key_entry(alg, kid=kid, pem_file=self.pem_path[alg]))
        return out

    def material(self) -> list[str]:
        """Strings that must never appear in an HTTP answer: the secrets
        and the base64 body lines of the public key PEMs."""
        out = list(self.secret.values())
        for pem in self.pem.values():
            out += [ln for ln in pem.decode().splitlines() if ln and not ln.startswith("-----")]
        return out


def sign(payload: dict, key, alg: str, kid: str | None = None, **headers) -> str:
    h = dict(headers)
    if kid is not None:
        h["kid"] = kid
    tok = jwt.encode(payload, key, algorithm=alg, headers=h or None)
    return tok if isinstance(tok, str) else tok.decode()


def verify(token: str, key, alg: str, **kw) -> dict:
    """PyJWT's own verification (used to check the helpers themselves)."""
    if hasattr(key, "public_key"):
        key = key.public_key()
    kw.setdefault("options", {"verify_aud": False})
    return jwt.decode(token, key, algorithms=[alg], **kw)


def now() -> int:
    return int(time.time())


def claims(sub="alice", tenant="t1", agent=OMIT, channels=OMIT, *, exp_in=300, nbf_in=OMIT, iat=True,
           iss=OMIT, aud=OMIT, **extra) -> dict:
    """A payload: sub, tenant_id, agent_id, channels, exp = now+exp_in (None:
    no exp), nbf = now+nbf_in, iat, iss, aud, then `extra`. OMIT (or None
    for tenant/agent/channels) leaves a claim out."""
    t = now()
    c: dict = {}
    if sub is not OMIT and sub is not None:
        c["sub"] = sub
    if tenant is not OMIT and tenant is not None:
        c["tenant_id"] = tenant
    if agent is not OMIT and agent is not None:
        c["agent_id"] = agent
    if channels is not OMIT and channels is not None:
        c["channels"] = list(channels)
    if iat:
        c["iat"] = t
    if exp_in is not None and exp_in is not OMIT:
        c["exp"] = t + exp_in
    if nbf_in is not OMIT:
        c["nbf"] = t + nbf_in
    if iss is not OMIT:
        c["iss"] = iss
    if aud is not OMIT:
        c["aud"] = aud
    c.update(extra)
    return c


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------

def key_entry(alg: str, *, kid: str | None = None, secret: str | None = None, pem_file: str | None = None,
              secret_env: str | None = None) -> dict:
    e = {}
    if kid is not None:
        e["kid"] = kid
    e["alg"] = alg
    if secret is not None:
        e["secret"] = secret
    if pem_file is not None:
        e["pem_file"] = str(pem_file)
    if secret_env is not None:
        e["secret_env"] = secret_env
    return e


def jwt_config(*endpoints: str, keys=(), server: dict | None = None, **auth) -> str:
    """[server], [auth] (the keyword arguments: issuer, audience, leeway_s,
    max_token_bytes, require_exp, jwks_file, *_claim), one [[auth.key]] per
    entry of `keys`, then the endpoints (wsutil.endpoint(...) texts; pass
    auth="jwt", token_sources=[...] there)."""
    out = []
    if server:
        out.append(_table("[server]", server))
    out.append(_table("[auth]", {k: v for k, v in auth.items() if v is not None}))
    for k in keys:
        out.append(_table("[[auth.key]]", k))
    out.extend(endpoints)
    return "\n".join(out)


def jwk(public_key, kid: str, alg: str) -> dict:
    """A public key as a JWK with kid, alg and use."""
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
    if isinstance(public_key, rsa.RSAPublicKey):
        d = json.loads(RSAAlgorithm.to_jwk(public_key))
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        d = json.loads(ECAlgorithm.to_jwk(public_key))
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        d = json.loads(OKPAlgorithm.to_jwk(public_key))
    else:
        raise TypeError(public_key)
    d.update({"kid": kid, "alg": alg, "use": "sig"})
    return d


def jwks_doc(entries) -> str:
    """A JWKS document from (kid, alg, private-or-public key) triples."""
    keys = []
    for kid, alg, k in entries:
        pub = k.public_key() if hasattr(k, "public_key") else k
        keys.append(jwk(pub, kid, alg))
    return json.dumps({"keys": keys}, indent=1)


# --------------------------------------------------------------------------
# upgrades on raw sockets
# --------------------------------------------------------------------------

def with_query(path: str, **params) -> str:
    """path plus ?k=v (or &k=v), values percent-encoded (unreserved kept)."""
    q = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    if not q:
        return path
    return path + ("&" if "?" in path else "?") + q


def token_request(path: str, token: str | None, source: str = "query", *, param: str = "token",
                  prefix: str = "bearer.", protocols=()) -> tuple[str, list]:
    """(path, extra headers) carrying `token` in `source`: "query", "header"
    (Authorization: Bearer), "protocol" (a Sec-WebSocket-Protocol entry after
    `protocols`) or None/"none" (no token)."""
    extra = []
    offered = list(protocols)
    if token is not None and source not in (None, "none"):
        if source == "query":
            path = with_query(path, **{param: token})
        elif source == "header":
            extra.append(("Authorization", f"Bearer {token}"))
        elif source == "protocol":
            offered.append(prefix + token)
        else:
            raise ValueError(source)
    if offered:
        extra.append(("Sec-WebSocket-Protocol", ", ".join(offered)))
    return path, extra


def try_upgrade(srv, path: str, token: str | None = None, source: str = "query", *, timeout: float = 5,
                extra=(), **kw) -> tuple[rawws.RawConn, rawws.HttpResponse, str]:
    """Send an upgrade request with the token in `source`; returns the open
    RawConn (the caller closes it), the response and the key sent."""
    p, hdrs = token_request(path, token, source, **kw)
    key = rawws.new_key()
    c = rawws.RawConn(srv.host, srv.port, T(timeout))
    try:
        c.send(rawws.build_request("GET", p, rawws.upgrade_headers(srv.hostport, key, extra=hdrs + list(extra))))
        resp = c.read_http_response(T(timeout))
    except BaseException:
        c.close()
        raise
    return c, resp, key


REASONS = {401: "Unauthorized", 403: "Forbidden"}


def check_refusal(resp: rawws.HttpResponse, status: int, material=(), reason_has=None) -> str:
    """The answer to a refused upgrade: `status` with its standard reason
    phrase, no WebSocket headers, a short plain-text body that contains none
    of `material`. Returns the body text."""
    assert resp.status == status, f"expected {status}, got {resp!r}"
    assert resp.version == "HTTP/1.1", resp
    assert resp.reason == REASONS[status], resp
    assert resp.header("Sec-WebSocket-Accept") is None, resp
    assert resp.header("Sec-WebSocket-Protocol") is None, resp
    if status == 401:  # RFC 9110 15.5.2: a 401 names the scheme
        www = resp.header("WWW-Authenticate")
        assert www is not None and www.lower().startswith("bearer"), resp
    ctype = resp.header("Content-Type")
    assert ctype is None or ctype.lower().startswith("text/plain"), resp
    body = resp.body.decode("utf-8", "replace")
    assert 0 < len(resp.body) <= 200, f"expected a short plain-text reason, got {resp.body[:300]!r}"
    assert all(32 <= b < 127 or b in (9, 10, 13) for b in resp.body), f"body is not plain text: {resp.body!r}"
    for m in material:
        if m:
            assert m not in body and m not in resp.raw_head.decode("latin-1"), \
                f"the {status} answer contains key material {m[:12]!r}...: {resp!r}"
    if reason_has is not None:
        words = (reason_has,) if isinstance(reason_has, str) else reason_has
        assert any(w in body.lower() for w in words), f"body {body!r} does not say any of {words}"
    return body


def expect_refused(srv, path: str, status: int, token: str | None = None, source: str = "query", *,
                   material=(), reason_has=None, **kw) -> str:
    """An upgrade attempt that must be answered with `status` and no 101; the
    server then closes the connection without a single WebSocket frame.
    Returns the body text."""
    c, resp, _ = try_upgrade(srv, path, token, source, **kw)
    with c:
        body = check_refusal(resp, status, material, reason_has)
        # nothing was upgraded: a frame sent now is not answered, and the
        # server closes the connection (every error answer does)
        try:
            c.send(rawws.build_frame(rawws.OP_PING, b"after-refusal"))
        except OSError:
            pass
        extra = c.expect_eof(T(5))
        assert extra == b"", f"bytes after the {status} answer: {extra[:200]!r}"
    return body


def expect_upgraded(srv, path: str, token: str | None, source: str = "query", *, timeout: float = 5,
                    **kw) -> tuple[rawws.RawConn, rawws.HttpResponse]:
    """An upgrade that must succeed (101 with the right accept); returns the
    open RawConn (the caller closes it) and the 101."""
    c, resp, key = try_upgrade(srv, path, token, source, timeout=timeout, **kw)
    try:
        assert resp.status == 101, f"expected 101 for {path} (token in {source}), got {resp!r}"
        assert "websocket" in resp.header_tokens("Upgrade"), resp
        assert resp.header("Sec-WebSocket-Accept") == rawws.accept_for(key), resp
    except BaseException:
        c.close()
        raise
    return c, resp


def read_greeting(c: rawws.RawConn, user_id: str, timeout: float = 5) -> dict:
    m = c.read_json(T(timeout))
    check_connected(m, user_id)
    return m


# --------------------------------------------------------------------------
# python-websockets clients with tokens
# --------------------------------------------------------------------------

def token_kw(token: str | None, source: str = "query", *, param: str = "token", prefix: str = "bearer.") -> tuple:
    """(query suffix to append to the path, connect() keywords) for a token."""
    if token is None:
        return "", {}
    if source == "query":
        return f"{param}={quote(token, safe='')}", {}
    if source == "header":
        return "", {"extra_headers": {"Authorization": f"Bearer {token}"}}
    if source == "protocol":
        return "", {"subprotocols": [prefix + token]}
    raise ValueError(source)


def ws_url(srv, path: str, token: str | None = None, source: str = "query", **params) -> tuple[str, dict]:
    q, kw = token_kw(token, source)
    url = srv.url(with_query(path, **params))
    if q:
        url += ("&" if "?" in url else "?") + q
    return url, kw


def check_connected(m: dict, user_id: str) -> None:
    assert set(m) == {"type", "data", "timestamp"}, m
    assert m["type"] == "connected", m
    assert set(m["data"]) == {"session_id", "user_id"}, m
    assert isinstance(m["data"]["session_id"], str) and SESSION_RE.match(m["data"]["session_id"]), m
    assert m["data"]["user_id"] == user_id, f"greeting user_id is not the token's sub {user_id!r}: {m}"
    check_timestamp(m["timestamp"])


def check_reply(m: dict, type_: str, rid, data=None) -> None:
    """{"type":type_,"data":...,"request_id":rid,"timestamp":...}; data checked
    exactly unless None."""
    assert set(m) == {"type", "data", "request_id", "timestamp"}, m
    assert m["type"] == type_, m
    assert m["request_id"] == rid, m
    if data is not None:
        assert m["data"] == data, m
    check_timestamp(m["timestamp"])


def check_error(m: dict, code: str, rid=None, details=None) -> dict:
    """An envelope error with `code`; `details` (when not None) must equal
    data.details. Returns data.details (or {})."""
    assert set(m) == {"type", "data", "request_id", "timestamp"}, m
    assert m["type"] == "error", f"expected error {code}, got {m}"
    assert m["request_id"] == rid, m
    d = m["data"]
    assert set(d) - {"details"} == {"error_code", "message"}, m
    assert d["error_code"] == code, f"expected error {code}, got {m}"
    assert isinstance(d["message"], str) and d["message"], m
    got = d.get("details", {})
    if details is not None:
        assert got == details, m
    return got


PROBE = "probe-"


def is_probe(m: dict) -> bool:
    """Settling traffic: direct messages of type "probe" and the replies to
    requests whose request_id starts with "probe-"."""
    if m.get("type") == "probe":
        return True
    rid = m.get("request_id")
    return isinstance(rid, str) and rid.startswith(PROBE)


class EnvClient(JsonClient):
    """An envelope connection opened with a token; open() checks the greeting
    (user_id = the token's sub). recv() skips probe traffic."""

    def __init__(self, ws, user: str | None = None, agent: str | None = None):
        super().__init__(ws)
        self.user = user
        self.agent = agent
        self.session_id: str | None = None
        self.probes = 0
        self.probe_tags: set = set()  # settle_direct tags of the probes received

    @classmethod
    async def open(cls, srv, path: str, token: str, user: str, agent: str | None = None, source: str = "query",
                   **params) -> "EnvClient":
        url, kw = ws_url(srv, path, token, source, **params)
        c = cls(await connect(url, **kw), user, agent)
        g = await c.recv()
        check_connected(g, user)
        c.session_id = g["data"]["session_id"]
        return c

    @property
    def reactor(self) -> int:
        return int(self.session_id[:2], 16)

    async def recv(self, timeout: float = 5) -> dict:
        while True:
            m = await super().recv(timeout)
            if is_probe(m):
                self._probe(m)
                continue
            return m

    def _probe(self, m: dict) -> None:
        if m.get("type") == "probe":
            self.probes += 1
            d = m.get("data")
            self.probe_tags.add(d.get("tag") if isinstance(d, dict) else None)

    async def ping(self, rid="alive") -> None:
        m = await self.request({"type": "ping", "request_id": rid})
        assert m.get("type") == "pong" and m.get("request_id") == rid, m

    async def subscribe(self, channels, rid="sub", presence: bool | None = None) -> None:
        data = {"channels": list(channels)}
        if presence is not None:
            data["presence"] = presence
        m = await self.request({"type": "subscribe", "data": data, "request_id": rid})
        check_reply(m, "subscribed", rid)
        assert m["data"].get("channels") == list(channels), m

    async def unsubscribe(self, channels, rid="unsub") -> None:
        m = await self.request({"type": "unsubscribe", "data": {"channels": list(channels)}, "request_id": rid})
        check_reply(m, "unsubscribed", rid, {"channels": list(channels)})

    async def publish(self, channel, type_="message", data=None, rid="pub") -> dict:
        m = await self.request({"type": "publish", "data": {"channel": channel, "type": type_, "data": data or {}},
                                "request_id": rid})
        check_reply(m, "published", rid, {"channel": channel})
        return m

    async def presence(self, channel, rid="pres") -> dict:
        return await self.request({"type": "presence", "data": {"channel": channel}, "request_id": rid})

    async def direct(self, rid="dm", *, to_user=None, to_agent=None, type_="note", data=None) -> dict:
        d = {}
        if to_user is not None:
            d["to_user_id"] = to_user
        if to_agent is not None:
            d["to_agent_id"] = to_agent
        d["type"] = type_
        d["data"] = {} if data is None else data
        return await self.request({"type": "direct", "data": d, "request_id": rid})

    async def quiet(self, seconds: float = 0.3) -> None:
        """Nothing but probe traffic arrives within T(seconds)."""
        try:
            m = await self.recv(seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected message for {self.user}/{self.agent}: {m}")


class ChanClient(JsonClient):
    """A channel-profile connection opened with a token (and optionally
    ?channel_id=, &presence=true)."""

    def __init__(self, ws, user=None, agent=None, room=None):
        super().__init__(ws)
        self.user, self.agent, self.room = user, agent, room
        self.probes: set[str] = set()

    @classmethod
    async def open(cls, srv, path: str, token: str, *, user=None, agent=None, room=None, source="query",
                   **params) -> "ChanClient":
        if room is not None:
            params = {"channel_id": room, **params}
        url, kw = ws_url(srv, path, token, source, **params)
        return cls(await connect(url, **kw), user, agent, room)

    async def recv(self, timeout: float = 5) -> dict:
        while True:
            m = await super().recv(timeout)
            mid = m.get("id") if m.get("type") == "message" else m.get("message_id") if m.get("type") in (
                "ACK", "ERROR") else None
            if isinstance(mid, str) and mid.startswith(PROBE):
                if m["type"] == "message":
                    self.probes.add(mid)
                continue
            return m

    async def ping(self) -> None:
        m = await self.request({"type": "ping"})
        assert m.get("type") == "pong", m

    async def quiet(self, seconds: float = 0.3) -> None:
        try:
            m = await self.recv(seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected message for {self.user}/{self.agent} in {self.room}: {m}")


async def settle_room(members: list[ChanClient], rounds: int = 60, tag: str = "") -> None:
    """Every member of one room has received a probe message from every
    other (all memberships in effect everywhere); then probes are drained."""
    for i, sender in enumerate(members):
        others = [m for m in members if m is not sender]
        for k in range(rounds):
            pid = f"{PROBE}{tag}{i}-{k}-{secrets.token_hex(3)}"
            await sender.send({"id": pid, "type": "message", "content": "probe"})
            await asyncio.sleep(0.02)
            deadline = time.monotonic() + T(0.3)
            pending = [o for o in others if not any(p.startswith(f"{PROBE}{tag}{i}-") for p in o.probes)]
            while pending and time.monotonic() < deadline:
                for o in pending:
                    try:
                        m = strict_json(await asyncio.wait_for(o.ws.recv(), 0.02))
                    except asyncio.TimeoutError:
                        continue
                    if m.get("type") == "ACK" and str(m.get("message_id")).startswith(PROBE):
                        continue  # the ACK of one of o's own probes
                    mid = m.get("id")
                    assert m.get("type") == "message" and isinstance(mid, str) and mid.startswith(PROBE), \
                        f"unexpected message while settling the room: {m}"
                    o.probes.add(mid)
                pending = [o for o in others if not any(p.startswith(f"{PROBE}{tag}{i}-") for p in o.probes)]
            if not pending:
                break
        else:
            raise AssertionError(f"member {i}'s probes never reached all others")
    for m in members:
        await m.ping()  # the pong comes after every probe and ACK already queued


async def settle_direct(sender: EnvClient, targets: list[EnvClient], *, by: str = "agent",
                        timeout: float = 10, tag: str = "") -> None:
    """Direct probes from `sender` to the agent (or user) of `targets` until
    each target connection has received one: the targets' inboxes are in
    effect on every reactor. Probe traffic is then drained with pings."""
    names = {(t.agent if by == "agent" else t.user) for t in targets}
    assert len(names) == 1, names
    name = names.pop()
    deadline = time.monotonic() + T(timeout)
    k = 0
    while True:
        k += 1
        await sender.send({"type": "direct", "data": {("to_agent_id" if by == "agent" else "to_user_id"): name,
                                                      "type": "probe", "data": {"k": k, "tag": tag}},
                           "request_id": f"{PROBE}{k}"})
        end = time.monotonic() + T(0.2)
        while time.monotonic() < end:
            for t in targets:
                if t.probes:
                    continue
                try:
                    m = strict_json(await asyncio.wait_for(t.ws.recv(), 0.02))
                except asyncio.TimeoutError:
                    continue
                assert is_probe(m), f"unexpected message while settling direct messages: {m}"
                t._probe(m)
            if all(t.probes for t in targets):
                break
        if all(t.probes for t in targets):
            break
        assert time.monotonic() < deadline, \
            f"direct probes to {by} {name!r} never reached all {len(targets)} connections"
    for t in targets + [sender]:
        await t.ping("settled")


async def gather_open(coros, gate: int = 16):
    sem = asyncio.Semaphore(gate)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros))
