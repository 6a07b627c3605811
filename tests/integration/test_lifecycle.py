"""Process lifecycle: graceful stop (close 1001 to everyone, exit 0 within
the deadline), second signal, stop accepting, CLI and config errors (exit 2
naming the culprit), --help/--version, flags overriding the config."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

import rawws
from conftest import REPO, T, ringcast_bin, run


def run_bin(args, timeout=10):
    return subprocess.run([ringcast_bin(), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=T(timeout), text=True)


def cfg(text: str, tmp_path) -> str:
    p = tmp_path / "ringcast.toml"
    p.write_text(text)
    return str(p)


def shutdown_config(ms: int) -> str:
    return f"""
[server]
shutdown_timeout_ms = {ms}

[[endpoint]]
path = "/echo"
protocol = "echo"

[[endpoint]]
path = "/ws/"
protocol = "json-echo"
"""


def wait_exit(srv, timeout: float) -> tuple[int, float]:
    t0 = time.monotonic()
    try:
        rc = srv.wait(timeout)
    except subprocess.TimeoutExpired:
        srv.kill()
        raise AssertionError(f"ringcast still running {timeout:.1f}s after the signal; stderr:\n{srv.stderr}")
    return rc, time.monotonic() - t0


# --------------------------------------------------------------------------
# graceful stop
# --------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_sends_1001_to_every_client(server_factory, sig):
    srv = server_factory(threads=2, config=shutdown_config(5000))
    n_echo, n_seed = 20, 10

    async def main():
        clients = []
        for i in range(n_echo):
            clients.append(await websockets.connect(srv.url("/echo"), ping_interval=None, open_timeout=T(10),
                                                    close_timeout=T(5)))
        for i in range(n_seed):
            clients.append(await websockets.connect(srv.url("/ws/"), ping_interval=None, open_timeout=T(10),
                                                    close_timeout=T(5)))
        # every connection is live
        for i, ws in enumerate(clients):
            if i >= n_echo:
                await ws.recv()  # connection message
            await ws.send(f"hello {i}")
            await asyncio.wait_for(ws.recv(), T(5))

        # a raw client that answers the close properly
        loop = asyncio.get_running_loop()
        raw = await loop.run_in_executor(None, lambda: rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10)))

        t0 = time.monotonic()
        srv.signal(sig)

        async def closed_code(ws):
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), T(8))  # a notice message may come first
            except ConnectionClosed as e:
                return e.rcvd.code if e.rcvd is not None else None

        codes = await asyncio.gather(*(closed_code(ws) for ws in clients))

        def raw_close():
            f = raw.expect_close(T(8), allow_data=True)
            raw.send_close(f.close_code or 1000)
            raw.expect_eof(T(5))
            raw.close()
            return f.close_code
        raw_code = await loop.run_in_executor(None, raw_close)

        rc, _ = await loop.run_in_executor(None, wait_exit, srv, 5.0 + T(5))
        return codes, raw_code, rc, time.monotonic() - t0

    codes, raw_code, rc, elapsed = run(main(), 60)
    assert codes == [1001] * (n_echo + n_seed), codes
    assert raw_code == 1001
    srv.checked = True
    assert srv.sanitizer_report() is None, srv.stderr
    assert rc == 0, f"exit code {rc}; stderr:\n{srv.stderr}"
    assert elapsed < 5.0 + T(5)


def test_stop_is_prompt_when_clients_cooperate(server_factory):
    # all clients answer the close at once: no reason to sit out the deadline
    srv = server_factory(threads=2, config=shutdown_config(20000))

    async def main():
        clients = [await websockets.connect(srv.url("/echo"), ping_interval=None, open_timeout=T(10))
                   for _ in range(10)]
        srv.signal(signal.SIGTERM)
        for ws in clients:
            await asyncio.wait_for(ws.wait_closed(), T(5))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, wait_exit, srv, T(5))

    rc, elapsed = run(main(), 60)
    srv.checked = True
    assert rc == 0, srv.stderr
    assert srv.sanitizer_report() is None, srv.stderr
    assert elapsed < T(5), f"took {elapsed:.1f}s with shutdown_timeout_ms=20000 and no client left"


def test_stop_deadline_with_unresponsive_clients(server_factory):
    srv = server_factory(threads=2, config=shutdown_config(1000))
    stubborn = [rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10)) for _ in range(5)]
    half_open = socket.create_connection((srv.host, srv.port), timeout=T(10))
    half_open.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n")  # mid-handshake
    try:
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        for c in stubborn:
            f = c.expect_close(T(5), allow_data=True)
            assert f.close_code == 1001, f
            # ... and never answer
        rc, _ = wait_exit(srv, 1.0 + T(4))
        elapsed = time.monotonic() - t0
        srv.checked = True
        assert srv.sanitizer_report() is None, srv.stderr
        assert rc == 0, f"exit code {rc} after a deadline-limited drain; stderr:\n{srv.stderr}"
        assert elapsed >= 0.5, f"exited after {elapsed:.2f}s: did not give clients the drain time"
        for c in stubborn:
            c.expect_eof(T(2))
        half_open.settimeout(T(2))
        try:
            while half_open.recv(65536):
                pass
        except ConnectionResetError:
            pass
    finally:
        for c in stubborn:
            c.close()
        half_open.close()


def test_no_new_connections_during_drain(server_factory):
    srv = server_factory(threads=2, config=shutdown_config(4000))
    stubborn = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    try:
        srv.signal(signal.SIGTERM)
        assert stubborn.expect_close(T(5), allow_data=True).close_code == 1001
        assert srv.alive(), "server exited although a client has not answered the close"
        # the drain is under way: a new client must not get a WebSocket
        for _ in range(5):
            try:
                c = rawws.RawConn(srv.host, srv.port, T(3))
            except ConnectionRefusedError:
                continue
            with c:
                try:
                    c.send(rawws.build_request("GET", "/echo", rawws.upgrade_headers(c.hostport)))
                    resp = c.read_http_response(T(3))
                except (rawws.PeerClosed, BrokenPipeError, ConnectionResetError):
                    continue
                except TimeoutError:
                    raise AssertionError("a new connection during the drain was accepted and left hanging")
                assert resp.status != 101, f"a new WebSocket was accepted during the drain: {resp!r}"
        rc, _ = wait_exit(srv, 4.0 + T(4))
        srv.checked = True
        assert rc == 0, srv.stderr
    finally:
        stubborn.close()


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_second_signal_exits_at_once(server_factory, second):
    srv = server_factory(threads=2, config=shutdown_config(30000))
    stubborn = rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(10))
    try:
        srv.signal(signal.SIGTERM)
        assert stubborn.expect_close(T(5), allow_data=True).close_code == 1001
        time.sleep(0.2)
        assert srv.alive(), "server exited although a client has not answered the close"
        srv.signal(second)
        rc, elapsed = wait_exit(srv, T(3))
        srv.checked = True
        assert elapsed < T(3)
        for m in ("AddressSanitizer", "runtime error:"):
            assert m not in srv.stderr, srv.stderr
    finally:
        stubborn.close()


def test_idle_server_stops_quickly(server_factory):
    srv = server_factory(threads=4)
    srv.signal(signal.SIGTERM)
    rc, elapsed = wait_exit(srv, T(5))
    srv.checked = True
    assert rc == 0, srv.stderr
    assert srv.sanitizer_report() is None, srv.stderr
    assert elapsed < T(2)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def test_version():
    r = run_bin(["--version"])
    assert r.returncode == 0, r
    m = re.search(r"\d+\.\d+\.\d+\S*", r.stdout)
    assert re.fullmatch(r"ringcast \d+\.\d+\.\d+\S*\n?", r.stdout), f"stdout={r.stdout!r} stderr={r.stderr!r}"
    meson = (REPO / "meson.build").read_text()
    want = re.search(r"^\s*version:\s*'([^']+)'", meson, re.M).group(1)
    assert m.group(0) == want, f"--version says {m.group(0)}, meson.build says {want}"


def test_help():
    r = run_bin(["--help"])
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    for flag in ("--config", "--listen", "--threads", "--version", "--help"):
        assert flag in out, f"--help does not mention {flag}:\n{out}"
    assert "listening on" not in out


@pytest.mark.parametrize("args,culprit", [
    (["--bogus"], "--bogus"),
    (["--threads", "abc"], "threads"),
    (["--threads", "-1"], "threads"),
    (["--threads"], "threads"),
    (["--listen", "nonsense"], "listen"),
    (["--listen", "127.0.0.1:99999"], "listen"),
    (["--listen"], "listen"),
    (["--config"], "config"),
    (["stray-positional"], "stray-positional"),
], ids=["unknown-flag", "threads-not-int", "threads-negative", "threads-missing-value", "listen-no-port",
        "listen-port-range", "listen-missing-value", "config-missing-value", "positional"])
def test_bad_flag_exit_2(args, culprit):
    r = run_bin(args)
    assert r.returncode == 2, f"exit {r.returncode}; stderr={r.stderr!r}"
    assert culprit in r.stderr, f"stderr does not name {culprit!r}: {r.stderr!r}"
    assert "listening on" not in r.stderr


BAD_CONFIGS = {
    "unknown_server_key": ("[server]\nbogus_key = 1\n", "bogus_key"),
    "unknown_endpoint_key": ('[[endpoint]]\npath = "/echo"\nprotocol = "echo"\ncolour = "blue"\n', "colour"),
    "unknown_table": ('[extras]\nx = 1\n', "extras"),
    "threads_wrong_type": ('[server]\nthreads = "four"\n', "threads"),
    "threads_negative": ("[server]\nthreads = -1\n", "threads"),
    "listen_garbage": ('[server]\nlisten = "not-an-address"\n', "listen"),
    "listen_port_range": ('[server]\nlisten = "127.0.0.1:70000"\n', "listen"),
    "max_connections_wrong_type": ('[server]\nmax_connections = "lots"\n', "max_connections"),
    "head_bytes_negative": ("[server]\nmax_request_head_bytes = -5\n", "max_request_head_bytes"),
    "unknown_protocol": ('[[endpoint]]\npath = "/x"\nprotocol = "telepathy"\n', "protocol"),
    "path_without_slash": ('[[endpoint]]\npath = "echo"\nprotocol = "echo"\n', "path"),
    "path_missing": ('[[endpoint]]\nprotocol = "echo"\n', "path"),
    "subprotocols_not_list": ('[[endpoint]]\npath = "/c"\nprotocol = "echo"\nsubprotocols = "chat"\n', "subprotocols"),
    "max_message_wrong_type": ('[[endpoint]]\npath = "/c"\nprotocol = "echo"\nmax_message_bytes = "big"\n',
                               "max_message_bytes"),
    "idle_ping_negative": ('[[endpoint]]\npath = "/c"\nprotocol = "echo"\nidle_ping_ms = -1\n', "idle_ping_ms"),
    "duplicate_path": ('[[endpoint]]\npath = "/e"\nprotocol = "echo"\n[[endpoint]]\npath = "/e"\nprotocol = "echo"\n',
                       "/e"),
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_config_exit_2(tmp_path, name):
    text, culprit = BAD_CONFIGS[name]
    r = run_bin(["--config", cfg(text, tmp_path), "--listen", "127.0.0.1:0", "--threads", "1"])
    assert r.returncode == 2, f"exit {r.returncode}; stderr={r.stderr!r}"
    assert culprit in r.stderr, f"stderr does not name {culprit!r}: {r.stderr!r}"
    assert "listening on" not in r.stderr


def test_config_syntax_error_exit_2(tmp_path):
    r = run_bin(["--config", cfg("[server\nlisten = \n", tmp_path), "--listen", "127.0.0.1:0"])
    assert r.returncode == 2, r
    assert r.stderr.strip(), "no message for a TOML syntax error"
    assert "listening on" not in r.stderr


def test_config_file_missing_exit_2(tmp_path):
    missing = str(tmp_path / "does-not-exist.toml")
    r = run_bin(["--config", missing, "--listen", "127.0.0.1:0"])
    assert r.returncode == 2, r
    assert "does-not-exist.toml" in r.stderr, r.stderr


def test_listen_address_in_use_fails_clearly():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        r = run_bin(["--listen", f"127.0.0.1:{port}", "--threads", "1"])
        assert r.returncode != 0, f"started on a port that is in use: {r!r}"
        assert str(port) in r.stderr, r.stderr
        assert "listening on" not in r.stderr
    finally:
        blocker.close()


# --------------------------------------------------------------------------
# config + flags
# --------------------------------------------------------------------------

def test_flags_override_config(server_factory):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    try:
        srv = server_factory(threads=1, config=f"""
[server]
listen = "127.0.0.1:{busy}"
threads = 3

[[endpoint]]
path = "/echo"
protocol = "echo"
""")
        assert srv.port != busy, "the --listen flag did not override the config's listen"
        with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) as c:
            c.send_text("override")
            assert c.read_message(T(5)) == (rawws.OP_TEXT, b"override")
    finally:
        blocker.close()


def test_listen_from_config(server_factory):
    srv = server_factory(threads=None, listen=None, config="""
[server]
listen = "127.0.0.1:0"
threads = 2

[[endpoint]]
path = "/echo"
protocol = "echo"
""")
    assert srv.host == "127.0.0.1" and srv.port > 0
    with rawws.open_ws(srv.host, srv.port, "/echo", timeout=T(5)) as c:
        c.send_text("from config")
        assert c.read_message(T(5)) == (rawws.OP_TEXT, b"from config")


def test_config_endpoints_replace_the_default_ones(server_factory):
    srv = server_factory(config="""
[[endpoint]]
path = "/only"
protocol = "echo"
""")
    with rawws.open_ws(srv.host, srv.port, "/only", timeout=T(5)) as c:
        c.send_text("only")
        assert c.read_message(T(5)) == (rawws.OP_TEXT, b"only")
    with rawws.RawConn(srv.host, srv.port, T(5)) as c:
        c.send(rawws.build_request("GET", "/echo", rawws.upgrade_headers(c.hostport)))
        assert c.read_http_response(T(5)).status == 404


def test_threads_zero_means_one_per_core(server_factory):
    srv = server_factory(threads=0)
    with rawws.open_ws(srv.host, srv.port, "/ws/", timeout=T(5)) as c:
        op, data = c.read_message(T(5))
        assert op == rawws.OP_TEXT and b'"connection"' in data
