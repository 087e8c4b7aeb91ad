"""Account enumeration by timing: the median answer time for an address with an account and one without.

    .venv/bin/python benchmarks/enumeration.py [--samples 200] [--max-samples 2000] [--precision 0.5]

For password reset, the sign-in code request, a wrong sign-in code, signup and a wrong
password, gunicorn (production settings, CSRF on) on real PostgreSQL and a Redis of its own
answers the same form for an existing and an unknown address, in alternating order (ABBA),
one request at a time; every request names a fresh address, so no cooldown short-cuts a path.
On a busy machine the medians wander, so each form is sampled in rounds until the bootstrap
standard error of the difference of medians is at most --precision ms (or --max-samples is
reached). The script fails (exit 1) when any difference is 2 ms or more. Nothing works the
queues: the jobs the requests queue stay in the private Redis.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness  # noqa: E402

DATABASE = "bench_enumeration"  # its own: other benchmarks reset `bench`
LIMIT_MS = 2.0
PASSWORD = "bench password 0123"
FLOWS = ("password reset", "code sign-in request", "wrong sign-in code", "signup", "wrong password")


@dataclass
class Timing:
    flow: str
    existing_ms: float
    unknown_ms: float
    standard_error_ms: float
    existing_p90_ms: float
    unknown_p90_ms: float
    samples: int
    difference_ms: float = 0.0

    def __post_init__(self):
        self.difference_ms = self.existing_ms - self.unknown_ms


class PrivateRedis:
    """A redis-server of our own on a free port (the requests queue jobs nobody works)."""

    def __enter__(self) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return f"redis://127.0.0.1:{self.port}/0"
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def load(count: int) -> None:
    """`count` verified customers, user<n>@example.com, all with PASSWORD."""
    import sqlalchemy as sa

    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.rbac import role_named

    db.session.execute(
        sa.text("""
        INSERT INTO users (id, email, username, password_hash, first_name, last_name, role_id, is_active,
                           email_verified_at, password_changed_at, created_at, updated_at)
        SELECT gen_random_uuid(), 'user' || g || '@example.com', 'user' || g, :hash, 'Bench', 'User', :role, true,
               now(), now(), now(), now()
        FROM generate_series(0, :n - 1) AS g"""),
        {"hash": hash_password(PASSWORD), "role": role_named("customer").id, "n": count},
    )


class Browser:
    """One visitor's session: it sends each form with its CSRF token, as a browser would."""

    def __init__(self, server: harness.Server):
        import requests

        self.server = server
        self.session = requests.Session()
        self.tokens: dict[str, str] = {}

    def _keep_cookies(self) -> None:
        # Production marks the session cookie Secure; the benchmark speaks plain HTTP to 127.0.0.1.
        for cookie in self.session.cookies:
            cookie.secure = False

    def token(self, path: str) -> str:
        if path not in self.tokens:
            page = self.session.get(self.server.url(path), timeout=30).text
            self._keep_cookies()
            self.tokens[path] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return self.tokens[path]

    def post(self, path: str, data: dict, expect: int) -> float:
        """Milliseconds for one POST; it must answer `expect`."""
        data = {**data, "csrf_token": self.token(path)}
        started = time.perf_counter()
        response = self.session.post(self.server.url(path), data=data, timeout=30, allow_redirects=False)
        elapsed = (time.perf_counter() - started) * 1000
        self._keep_cookies()
        if response.status_code != expect:
            raise RuntimeError(f"POST {path} answered {response.status_code}, not {expect}")
        return elapsed


def one_request(browser: Browser, flow: str, existing: bool, n: int) -> float:
    """Time `flow` for the n-th existing account (user<n>@example.com) or the n-th unknown address."""
    email = f"user{n}@example.com" if existing else f"nobody{n}@example.com"
    if flow == "password reset":
        return browser.post("/auth/password-reset", {"email": email}, 200)
    if flow == "code sign-in request":
        return browser.post("/auth/login/code", {"email": email}, 303)
    if flow == "wrong sign-in code":
        browser.post("/auth/login/code", {"email": email}, 303)  # the code whose wrong guess is timed
        return browser.post("/auth/login/code/enter", {"code": "000000"}, 401)
    if flow == "signup":
        return browser.post(
            "/auth/signup",
            {
                "username": f"{'dup' if existing else 'new'}{n}",
                "email": email if existing else f"new{n}@example.com",
                "password": "a long unusual passphrase",
            },
            303,
        )
    if flow == "wrong password":
        return browser.post("/auth/login", {"identifier": email, "password": "not the password!"}, 401)
    raise ValueError(flow)


def standard_error(existing: list[float], unknown: list[float], rounds: int = 200) -> float:
    """Bootstrap standard error of median(existing) − median(unknown)."""
    rng = random.Random(0)
    differences = [
        statistics.median(rng.choices(existing, k=len(existing)))
        - statistics.median(rng.choices(unknown, k=len(unknown)))
        for _ in range(rounds)
    ]
    return statistics.stdev(differences)


def measure(server: harness.Server, flow: str, first: int, args) -> Timing:
    browsers = {True: Browser(server), False: Browser(server)}
    addresses = iter(range(first, first + args.warm_up + args.max_samples))
    for n in [next(addresses) for _ in range(args.warm_up)]:
        for existing in (True, False):
            one_request(browsers[existing], flow, existing, n)
    times: dict[bool, list[float]] = {True: [], False: []}
    while True:
        for k in range(args.samples):
            n = next(addresses)
            order = (True, False) if k % 2 == 0 else (False, True)  # ABBA: drift hits both alike
            for existing in order:
                times[existing].append(one_request(browsers[existing], flow, existing, n))
        error = standard_error(times[True], times[False])
        done = len(times[True])
        print(
            f"    {done} samples each: {statistics.median(times[True]):.2f} vs {statistics.median(times[False]):.2f}"
            f" ms (± {error:.2f})",
            flush=True,
        )
        if error <= args.precision or done + args.samples > args.max_samples:
            break

    def p90(values):
        return statistics.quantiles(values, n=10)[-1]

    return Timing(
        flow,
        statistics.median(times[True]),
        statistics.median(times[False]),
        error,
        p90(times[True]),
        p90(times[False]),
        len(times[True]),
    )


def table(timings: list[Timing]) -> str:
    lines = [
        "| form | existing account, median ms | unknown address, median ms | difference ms (± s.e.) "
        "| samples each | p90 ms (existing / unknown) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t.flow} | {t.existing_ms:.2f} | {t.unknown_ms:.2f} | {t.difference_ms:+.2f} "
            f"(± {t.standard_error_ms:.2f}) | {t.samples} | {t.existing_p90_ms:.1f} / {t.unknown_p90_ms:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> harness.Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="requests per address kind and round")
    parser.add_argument("--max-samples", type=int, default=2000, help="requests per address kind, at most")
    parser.add_argument("--precision", type=float, default=0.5, help="stop at this standard error (ms)")
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--flows", nargs="*", default=list(FLOWS), choices=FLOWS)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    per_flow = args.warm_up + args.max_samples

    with PrivateRedis() as redis_url:
        harness.REDIS_URL = redis_url
        print(f"enumeration: {per_flow * len(FLOWS)} accounts in {DATABASE}, Redis {redis_url} …", flush=True)
        database = harness.prepare_database(lambda: load(per_flow * len(FLOWS)), name=DATABASE)
        env = {"REDIS_URL": redis_url, "BASE_URL": "http://127.0.0.1", "PAYMENT_WEBHOOK_SECRETS": "whsec_bench"}
        with harness.Server(database, workers=args.workers, threads=args.threads, env=env) as server:
            timings = []
            for flow in args.flows:
                print(f"  {flow} …", flush=True)
                timings.append(measure(server, flow, FLOWS.index(flow) * per_flow, args))
    report = harness.Report("enumeration", vars(args), timings)
    print(table(timings))
    print(f"saved {report.save().relative_to(harness.ROOT)}")
    slow = [t.flow for t in timings if abs(t.difference_ms) >= LIMIT_MS]
    if slow:
        raise SystemExit(f"the medians differ by {LIMIT_MS} ms or more for: {', '.join(slow)}")
    return report


if __name__ == "__main__":
    main()
