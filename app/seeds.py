"""Reference data every database needs (roles, permissions, the fee row), and the demo data.

Each seeder is idempotent and named here, in the order it runs: nothing registers itself
on import. Migrations create the reference data on upgrade; the test harness calls
`seed_reference_data()` again after it empties the tables.
"""

from __future__ import annotations

from collections.abc import Callable

from app import rbac
from app.auth import demo as demo_accounts
from app.catalog import demo as demo_catalog
from app.catalog import fees

REFERENCE_SEEDERS: tuple[Callable[[], None], ...] = (rbac.seed_roles, fees.seed_fee_row)

# Demo data for `flask seed-demo` (and `make run`); each returns a line saying what it did.
DEMO_SEEDERS: tuple[Callable[[], str], ...] = (demo_accounts.seed_demo_users, demo_catalog.seed_demo_catalog)


def seed_reference_data() -> None:
    for fn in REFERENCE_SEEDERS:
        fn()


def seed_demo() -> list[str]:
    """Run every demo seeder after the reference data."""
    seed_reference_data()
    return [fn() for fn in DEMO_SEEDERS]
