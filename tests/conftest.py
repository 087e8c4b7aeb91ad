"""Test harness: the real Postgres and Redis, an SMTP sink, RQ workers, a live server, Chromium.

Services: TEST_DATABASE_URL / REDIS_URL when set, else PostgreSQL and Redis on
127.0.0.1 when they answer. With CI=true a missing service stops the run; without
CI the suite falls back to SQLite + fakeredis and says so loudly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
sys.path.insert(0, str(ROOT))
os.environ["APP_ENV"] = "test"

from tests.support.services import detect_services  # noqa: E402

SERVICES = detect_services()
os.environ["TEST_DATABASE_URL"] = SERVICES.database_url
if SERVICES.redis_url:
    os.environ["REDIS_URL"] = SERVICES.redis_url

pytest_plugins = [
    "tests.support.db",
    "tests.support.mail",
    "tests.support.jobs",
    "tests.support.browser",
    "tests.support.users",
    "tests.support.oidc",
    "tests.support.localstripe",
    "tests.support.faults",
    "tests.support.routes",
    "tests.billing.faults",
]


def pytest_report_header(config):
    return SERVICES.banner()


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (row locks, concurrency)")
    config.addinivalue_line("markers", "e2e: drives Chromium against a live server")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "browser_context(**options): Playwright context options for the `page` fixture")


# The longest tests (a minute or more each on CI's 2 cores) go first: pytest-xdist deals the first quarter of
# the run out round-robin, so they spread over the workers instead of one of them finishing alone at the end.
SLOW_FIRST = (
    "tests/e2e/test_accessibility_sweep.py",
    "tests/jobs/test_abandoned_jobs.py",
    "tests/jobs/test_retries_after_redis_outage.py",
    "tests/jobs/test_scheduler_under_database_outage.py",
    "tests/test_bad_input_sweep.py",
    "tests/test_make_run.py",
    "tests/main/test_health.py",
)


def _slow_rank(item) -> int:
    path = item.nodeid.split("::", 1)[0]
    return SLOW_FIRST.index(path) if path in SLOW_FIRST else len(SLOW_FIRST)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_slow_rank)  # stable: every other test keeps its order
    if SERVICES.is_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL; running on the SQLite fallback")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(SERVICES.banner())
