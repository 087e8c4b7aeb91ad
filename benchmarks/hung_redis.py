"""What a hung Redis (accepts connections, never answers) costs a signup.

    .venv/bin/python benchmarks/hung_redis.py [--signups 6]

A private redis-server on a free port (never the shared one) is frozen with SIGSTOP
after a warm-up; each signup is then a real POST /auth/signup through the app (rate
limits on, Redis storage), timed end to end. Runs on the benchmark database (see
harness.py; BENCH_DATABASE picks another name). Prints one line per signup and the
first / median of the rest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness  # noqa: E402
from tests.support.faults import RedisServer  # noqa: E402  (a private redis-server, frozen with SIGSTOP)

PASSWORD = "analytical engine 1843"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=6)
    args = parser.parse_args(argv)

    from app import create_app

    url = harness.prepare_database()
    redis_server = RedisServer().start()
    try:
        app = create_app(
            "development",
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "REDIS_URL": redis_server.url(),
                "RATELIMIT_STORAGE_URI": redis_server.url(),
                "JOBS_INLINE": False,
                "DEV_MAIL_OUTBOX": False,
                "LOG_LEVEL": "ERROR",
                "WTF_CSRF_ENABLED": False,
            },
        )  # measured: Redis, not CSRF
        client = app.test_client()

        def signup(n: int) -> float:
            started = time.perf_counter()
            response = client.post(
                "/auth/signup", data={"username": f"hung{n}", "email": f"hung{n}@example.com", "password": PASSWORD}
            )
            assert response.status_code == 303, response.status_code
            return time.perf_counter() - started

        answering = [signup(n) for n in range(3)]  # also opens the pooled connections
        redis_server.pause()
        hung = [signup(100 + n) for n in range(args.signups)]
    finally:
        redis_server.stop()

    for n, seconds in enumerate(hung):
        print(f"signup {n + 1} with Redis hung: {seconds:.2f} s")
    figures = {
        "answering_median_s": statistics.median(answering),
        "hung_first_s": hung[0],
        "hung_rest_median_s": statistics.median(hung[1:]) if len(hung) > 1 else None,
    }
    print(
        f"Redis answering: median {figures['answering_median_s']:.3f} s; Redis hung: first "
        f"{figures['hung_first_s']:.2f} s, then median {figures['hung_rest_median_s']:.3f} s"
    )
    return figures


if __name__ == "__main__":
    main()
