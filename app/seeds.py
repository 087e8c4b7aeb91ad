"""Reference data every database needs (roles, permissions, counters …).

Each seeder is idempotent. Migrations create the data on upgrade; the test
harness calls `seed_reference_data()` again after it empties the tables.
"""

from __future__ import annotations

from collections.abc import Callable

SEEDERS: list[Callable[[], None]] = []


def seeder(fn: Callable[[], None]) -> Callable[[], None]:
    SEEDERS.append(fn)
    return fn


def seed_reference_data() -> None:
    for fn in SEEDERS:
        fn()


# Demo data for `flask seed-demo` (and `make run`). Features add theirs; each is idempotent.
DEMO_SEEDERS: list[Callable[[], str]] = []


def demo_seeder(fn: Callable[[], str]) -> Callable[[], str]:
    DEMO_SEEDERS.append(fn)
    return fn


def seed_demo() -> list[str]:
    """Run every demo seeder; each returns a line saying what it did."""
    seed_reference_data()
    return [fn() for fn in DEMO_SEEDERS]
