"""Real faults for tests: a private Redis server to stop, flush or freeze; a TCP proxy in
front of Postgres (or anything) to cut, refuse or black-hole; the app's own processes
(`flask worker`, `flask scheduler`, gunicorn) run as subprocesses to `kill -9`.

Nothing here fakes a service: the app talks to the real one through a real socket,
and the fault is what the operating system would do to that socket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "artifacts" / "processes"


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class RedisServer:
    """A redis-server of the test's own on a free port, with no persistence (as on this machine)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: the fault tests start their own (apt-get install redis-server)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _port_open(self.port), 10, message=f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        """Like a crash or a restart: the process is gone, with everything it held in memory."""
        if self.proc and self.proc.poll() is None:
            self.resume()
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
        wait_until(lambda: not _port_open(self.port), 5, message="redis-server to stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """A hung Redis: the kernel still accepts connections, nothing ever answers."""
        if self.proc:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)

    def client(self, db: int = 0):
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=2)

    def flushall(self) -> None:
        self.client().flushall()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target. Faults: cut(), refuse() … accept(), blackhole()."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "forward"  # forward | blackhole
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0

    def start(self) -> TcpProxy:
        self.accept()
        return self

    def accept(self) -> None:
        """(Re)open the listening socket: new connections are forwarded again."""
        self.mode = "forward"
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        """Connections refused (the server is down): close the listener and every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self.cut()

    def cut(self) -> None:
        """Drop every open connection at once, as a network failure or a server restart would."""
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def blackhole(self) -> None:
        """Accept new connections but never answer; open ones stop moving too."""
        self.mode = "blackhole"

    def stop(self) -> None:
        self.refuse()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self.accepted += 1
            with self._lock:
                self._conns.add(client)
            if self.mode == "blackhole":
                continue  # held open, never read
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.add(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "blackhole":
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._conns.discard(src)
                self._conns.discard(dst)

    def url_for(self, url: str) -> str:
        """`url` (postgresql://…, redis://…) with its host and port replaced by this proxy's."""
        parsed = urlparse(url)
        netloc = f"127.0.0.1:{self.port}"
        if parsed.username:
            netloc = f"{parsed.username}{':' + parsed.password if parsed.password else ''}@{netloc}"
        return urlunparse(parsed._replace(netloc=netloc))


def proxy_in_front_of(url: str, default_port: int) -> TcpProxy:
    parsed = urlparse(url)
    return TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or default_port).start()


class AppProcess:
    """`flask worker`, `flask scheduler` or gunicorn as its own process, its output in tests/artifacts."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen | None = None
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{name}-{os.getpid()}-{free_port()}.log"

    def start(self) -> AppProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the process and everything it started, as the OOM killer or a lost host would:
        no cleanup runs. RQ's work horse sits in a process group of its own (setpgrp), so killing
        the group alone would leave it running; the group is frozen first so nothing forks meanwhile."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGSTOP)
            for pid in [*_descendants(self.proc.pid), self.proc.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        if getattr(self, "_log", None):
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), deepest first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in (…) may hold spaces
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found[::-1]


def process_env(app, **overrides: str) -> dict[str, str]:
    """The environment a subprocess needs to run against the same database, Redis and SMTP as `app`."""
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "test",
            "FLASK_APP": "wsgi",
            "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config.get("REDIS_URL") or "",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if app.config.get("MAIL_SERVER"):  # APP_ENV=test reads these (it ignores MAIL_SERVER)
        env.update({"TEST_MAIL_SERVER": str(app.config["MAIL_SERVER"]), "TEST_MAIL_PORT": str(app.config["MAIL_PORT"])})
    env.update(overrides)
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", *args]


@pytest.fixture
def redis_server():
    """A private redis-server for this test: stop it, flush it or freeze it without touching anyone else's."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def app_processes():
    """Start app processes with `app_processes("worker", argv, env)`; all are stopped after the test."""
    started: list[AppProcess] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> AppProcess:
        proc = AppProcess(name, argv, env).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
