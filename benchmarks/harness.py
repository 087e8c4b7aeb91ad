"""A reusable benchmark harness: real Postgres and Redis, gunicorn on a free port, a bounded load generator.

    url = harness.prepare_database(loader)          # drop, create and migrate `bench`, then load data
    with harness.Server(url, workers=2) as server:  # gunicorn serving benchmarks/wsgi_bench.py
        harness.warm_up(server.url("/products/"))
        result = harness.measure(server.url("/products/"))

Everything it starts it stops by itself. Load goes only to 127.0.0.1, is bounded in time
(`duration`) and in concurrency (`connections`). wrk is used when installed
(`apt-get install wrk`), otherwise a Python thread pool does the same job, more slowly.
Settings come from the environment: BENCH_ADMIN_URL (a database to connect to for
DROP/CREATE DATABASE), BENCH_DATABASE (default `bench`), BENCH_REDIS_URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("BENCH_DATABASE", "bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
WSGI = "benchmarks.wsgi_bench:app"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def database_url(name: str = DATABASE) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def reset_database(name: str = DATABASE) -> str:
    """Drop and re-create the benchmark database (never anything else). Returns its SQLAlchemy URL."""
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name in {"postgres", "template0", "template1"}:
        raise ValueError(f"refusing to reset database {name!r}")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def _app(url: str):
    from app import create_app

    return create_app(
        "development",
        {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL, "JOBS_INLINE": False, "LOG_LEVEL": "WARNING"},
    )


def prepare_database(loader: Callable[[], object] | None = None, name: str = DATABASE) -> str:
    """A fresh, migrated database with reference data, then whatever `loader` adds (it runs in an app context)."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.seeds import seed_reference_data

    url = reset_database(name)
    app = _app(url)
    with app.app_context():
        upgrade()
        seed_reference_data()
        if loader is not None:
            loader()
        db.session.commit()
        db.engine.dispose()
    import psycopg

    # Fresh statistics, as autovacuum would have in production: without them the planner skips the indexes.
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with N workers (gthread, as in the Procfile) against the given database; a context manager."""

    def __init__(
        self,
        database: str,
        *,
        workers: int = 2,
        threads: int = 4,
        wsgi: str = WSGI,
        env: dict | None = None,
        startup_timeout: float = 60,
    ):
        self.port = free_port()
        self.workers, self.threads = workers, threads
        self.log = RESULTS / f"gunicorn-{self.port}.log"
        self.command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--config",
            str(ROOT / "gunicorn.conf.py"),  # the Procfile's settings; the flags below override bind and sizing
            wsgi,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ]
        self.env = {
            **os.environ,
            "APP_ENV": "production",
            "DATABASE_URL": database,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef",
            "LOG_LEVEL": "WARNING",
            "PAYMENT_WEBHOOK_SECRETS": "whsec_benchmark_only",
            "BASE_URL": f"http://127.0.0.1:{self.port}",
            "RATELIMIT_ENABLED": "false",
            **(env or {}),
        }
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Server:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self._log = self.log.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            self._wait_until_up()
        except BaseException:  # whatever stops the start (Ctrl-C included), gunicorn must not outlive it
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            try:
                if requests.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a busy first request
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {self.startup_timeout}s; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own session: gunicorn and its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()


@dataclass
class Result:
    name: str
    url: str
    requests_per_second: float
    requests: int
    errors: int
    duration: float
    tool: str
    latency_ms_p50: float | None = None
    latency_ms_p99: float | None = None
    ratio: float | None = None


def add_load_arguments(parser) -> None:
    """The options every page benchmark shares: server size and load shape."""
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)


def warm_up(url: str, requests_count: int = 50, headers: dict | None = None) -> None:
    """Fill every worker's caches (templates, connection pool, the fee cache) before measuring."""
    with requests.Session() as session:
        session.headers.update(headers or {})
        for _ in range(requests_count):
            response = session.get(url, timeout=10)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code} during warm-up")


def measure(
    url: str, name: str | None = None, *, duration: float = 10, connections: int = 16, headers: dict | None = None
) -> Result:
    """Requests per second at `connections` concurrent connections for `duration` seconds.

    `headers` (e.g. a session Cookie) go on every request, for pages behind a login.
    """
    if shutil.which("wrk"):
        return _measure_wrk(url, name or url, duration, connections, headers or {})
    return _measure_threads(url, name or url, duration, connections, headers or {})


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def _measure_wrk(url: str, name: str, duration: float, connections: int, headers: dict) -> Result:
    header_args = [arg for key, value in headers.items() for arg in ("-H", f"{key}: {value}")]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency", "--timeout", "10s", *header_args, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    p50 = re.search(r"50%\s+([\d.]+(?:us|ms|s))", out)
    p99 = re.search(r"99%\s+([\d.]+(?:us|ms|s))", out)
    return Result(
        name,
        url,
        rps,
        total,
        errors,
        duration,
        "wrk",
        _ms(p50.group(1)) if p50 else None,
        _ms(p99.group(1)) if p99 else None,
    )


def _measure_threads(url: str, name: str, duration: float, connections: int, headers: dict) -> Result:
    counts = {"ok": 0, "errors": 0}
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def client() -> None:
        with requests.Session() as session:
            session.headers.update(headers)
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    ok = session.get(url, timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    counts["ok" if ok else "errors"] += 1
                    latencies.append((time.monotonic() - started) * 1000)

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 15)
    elapsed = time.monotonic() - started
    latencies.sort()
    total = counts["ok"] + counts["errors"]
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else (lambda q: None)
    return Result(
        name, url, counts["ok"] / elapsed, total, counts["errors"], elapsed, "python threads", pick(0.5), pick(0.99)
    )


def measure_pages(
    server: Server,
    pages: list[tuple[str, str]],
    *,
    duration: float = 10,
    connections: int = 16,
    rounds: int = 3,
    headers: dict | None = None,
) -> list[Result]:
    """Measure every (name, path) in `rounds` interleaved rounds and keep each page's median round.

    On a shared machine the background load drifts; interleaving lets every page see the same drift.
    """
    for _, path in pages:
        warm_up(server.url(path), headers=headers)
    runs: dict[str, list[Result]] = {name: [] for name, _ in pages}
    for round_number in range(rounds):
        for name, path in pages:
            print(f"  round {round_number + 1}/{rounds}: {name} …", flush=True)
            runs[name].append(
                measure(server.url(path), name, duration=duration / rounds, connections=connections, headers=headers)
            )
    medians = []
    for name, _ in pages:
        ordered = sorted(runs[name], key=lambda r: r.requests_per_second)
        median = ordered[len(ordered) // 2]
        median.requests = sum(r.requests for r in ordered)
        median.errors = sum(r.errors for r in ordered)
        median.duration = sum(r.duration for r in ordered)
        medians.append(median)
    return medians


def with_ratios(results: list[Result], baseline: str) -> list[Result]:
    base = next(r for r in results if r.name == baseline).requests_per_second
    for result in results:
        result.ratio = result.requests_per_second / base if base else None
    return results


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = "unknown"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    memory = None
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL) as conn:
            info["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: S110 (the description is best effort; a missing version is not an error)
        pass
    if shutil.which("wrk"):
        info["wrk"] = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
    return info


def table(results: list[Result], baseline: str) -> str:
    lines = ["| page | req/s | ratio to bare route | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = "1.00 (baseline)" if r.name == baseline else f"{r.ratio:.2f}"
        p50 = f"{r.latency_ms_p50:.1f}" if r.latency_ms_p50 is not None else "–"
        p99 = f"{r.latency_ms_p99:.1f}" if r.latency_ms_p99 is not None else "–"
        lines.append(f"| {r.name} | {r.requests_per_second:,.0f} | {ratio} | {p50} | {p99} | {r.errors} |")
    return "\n".join(lines)


@dataclass
class Report:
    benchmark: str
    settings: dict
    results: list[Result]
    machine: dict = field(default_factory=machine)
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.benchmark}-{self.finished_at.replace(':', '')}.json"
        path.write_text(json.dumps(asdict(self), indent=2))
        return path
