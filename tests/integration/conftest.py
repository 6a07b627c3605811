"""Fixtures that run the real ringcast binary for the integration tests.

The binary comes from $RINGCAST_BIN (set by meson), or <repo>/build/ringcast
when the tests are run by hand.  Each server is started with
`--listen 127.0.0.1:0 --threads N [--config FILE]`; the port is read from the
`listening on HOST:PORT` line on stderr.  At teardown the server gets SIGTERM
and must exit 0 with no sanitizer report on stderr.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[2]
LISTEN_RE = re.compile(r"(?<!api )listening on (\S+):(\d+)")
API_RE = re.compile(r"api listening on (\S+):(\d+)")

# The embedded default config takes its HS256 key from RINGCAST_JWT_SECRET;
# every server started here gets this one, and Server.url() signs a token
# with it for the default config's JWT endpoints.
TEST_JWT_SECRET = "ringcast-integration-tests-secret-0123456789"
DEFAULT_JWT_PATHS = ("/api/v1/ws", "/v1/ws", "/v1")


def test_token(sub: str = "test-user", **claims) -> str:
    """An HS256 token for the default config (valid for an hour)."""
    import jwt  # python3-jwt (Debian)
    payload = {"sub": sub, "exp": int(time.time()) + 3600, **claims}
    return jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256")
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
STARTUP_TIMEOUT = 20.0


def ringcast_bin() -> str:
    b = os.environ.get("RINGCAST_BIN") or str(REPO / "build" / "ringcast")
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.fail(f"ringcast binary not found or not executable: {b!r} "
                    f"(build it with `ninja -C build` or set RINGCAST_BIN)", pytrace=False)
    return b


def _is_sanitized(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__ubsan_handle" in data or b"__tsan_init" in data


def _scale() -> float:
    env = os.environ.get("RINGCAST_TIMEOUT_SCALE")
    if env:
        return float(env)
    b = os.environ.get("RINGCAST_BIN") or str(REPO / "build" / "ringcast")
    return 4.0 if _is_sanitized(b) else 1.0


# Multiply every "how long may this take" by SCALE (>1 under sanitizers).
SCALE = _scale()


def T(seconds: float) -> float:
    """A timeout scaled for slow (sanitizer) builds."""
    return seconds * SCALE


def run(coro, timeout: float = 30.0):
    """Run an asyncio coroutine with a hard (scaled) bound."""
    async def bounded():
        return await asyncio.wait_for(coro, T(timeout))
    return asyncio.run(bounded())


class Server:
    def __init__(self, *, config: str | None = None, threads: int | None = 2,
                 listen: str | None = "127.0.0.1:0", args=(), tmpdir: Path | None = None,
                 wait_ready: bool = True, api_listen: str | None = "127.0.0.1:0", env=None):
        self.bin = ringcast_bin()
        cmd = [self.bin]
        self.config_path = None
        if config is not None:
            assert tmpdir is not None
            tmpdir.mkdir(parents=True, exist_ok=True)
            self.config_path = tmpdir / f"ringcast-{id(self):x}.toml"
            self.config_path.write_text(config)
            cmd += ["--config", str(self.config_path)]
        if listen is not None:
            cmd += ["--listen", listen]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        if api_listen is not None:
            cmd += ["--api-listen", api_listen]
        cmd += list(args)
        self.default_config = config is None
        self.api_host: str | None = None
        self.api_port: int | None = None
        self.cmd = cmd
        self.host: str | None = None
        self.port: int | None = None
        self._lines: list[str] = []
        self._out: list[str] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.checked = False
        proc_env = dict(os.environ, RINGCAST_JWT_SECRET=TEST_JWT_SECRET)
        if env:
            proc_env.update(env)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=proc_env)
        self._t_err = threading.Thread(target=self._drain_err, daemon=True)
        self._t_out = threading.Thread(target=self._drain_out, daemon=True)
        self._t_err.start()
        self._t_out.start()
        if wait_ready:
            self._wait_ready()

    # stderr/stdout are drained continuously so the pipes never fill up
    def _drain_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._lines.append(line)
            a = API_RE.search(line)
            if a:
                self.api_host, self.api_port = a.group(1), int(a.group(2))
            if not self._ready.is_set():
                m = LISTEN_RE.search(line)
                if m:
                    self.host, self.port = m.group(1), int(m.group(2))
                    self._ready.set()
        self._ready.set()

    def _drain_out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self._out.append(raw.decode("utf-8", "replace"))

    def _wait_ready(self):
        self._ready.wait(STARTUP_TIMEOUT)
        if self.port is None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.checked = True
            pytest.fail(f"ringcast did not report `listening on HOST:PORT` within {STARTUP_TIMEOUT}s\n"
                        f"cmd: {self.cmd}\nexit: {self.proc.returncode}\nstderr:\n{self.stderr}",
                        pytrace=False)

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._lines)

    @property
    def stdout(self) -> str:
        with self._lock:
            return "".join(self._out)

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str = "/echo") -> str:
        """ws:// URL of path; on the default config's JWT endpoints with a
        valid test token (unless the path already carries one)."""
        u = f"ws://{self.host}:{self.port}{path}"
        base = path.split("?", 1)[0]
        if self.default_config and base in DEFAULT_JWT_PATHS and "token=" not in path:
            u += ("&" if "?" in path else "?") + "token=" + test_token()
        return u

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig=signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        rc = self.proc.wait(timeout)
        self._t_err.join(5)
        self._t_out.join(5)
        return rc

    def sanitizer_report(self) -> str | None:
        err = self.stderr
        for m in SANITIZER_MARKERS:
            if m in err:
                return m
        return None

    def assert_healthy(self) -> None:
        assert self.alive(), f"ringcast died (exit {self.proc.returncode}); stderr:\n{self.stderr}"
        m = self.sanitizer_report()
        assert m is None, f"sanitizer report ({m}) on stderr:\n{self.stderr}"

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, then assert exit 0 and a clean stderr."""
        self.checked = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.wait(max(timeout, T(timeout) / 2))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.wait(10)
            raise AssertionError(f"ringcast did not exit within {timeout}s of SIGTERM; stderr:\n{self.stderr}")
        m = self.sanitizer_report()
        assert m is None, f"sanitizer report ({m}) on stderr:\n{self.stderr}"
        assert rc == 0, f"ringcast exited with {rc} after SIGTERM; stderr:\n{self.stderr}"
        return rc

    def kill(self) -> None:
        self.checked = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def server_factory(tmp_path):
    """start(config=None, threads=2, args=(), ...) -> Server.  All servers
    still running at teardown are stopped with SIGTERM and checked."""
    servers: list[Server] = []

    def start(config: str | None = None, threads: int | None = 2, **kw) -> Server:
        s = Server(config=config, threads=threads, tmpdir=tmp_path, **kw)
        servers.append(s)
        return s

    yield start
    errors = []
    for s in servers:
        if s.checked:
            if s.proc.poll() is None:
                s.kill()
            continue
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="module")
def _module_server(tmp_path_factory):
    s = Server(threads=2, tmpdir=tmp_path_factory.mktemp("srv"))
    yield s
    if not s.checked:
        s.stop()


@pytest.fixture
def server(_module_server):
    """The default-config server (embedded config, --threads 2), shared by
    the tests of one module; checked alive and sanitizer-clean after each."""
    _module_server.assert_healthy()
    yield _module_server
    # let the server finish reacting to whatever the test did
    time.sleep(0.02)
    _module_server.assert_healthy()
