"""Renewal throughput: N subscriptions due, one `flask billing run`, the sandbox gateway.

    .venv/bin/python benchmarks/billing_renewals.py                 # 10,000 then 100,000
    .venv/bin/python benchmarks/billing_renewals.py --sizes 2000    # a quick look

For each size it recreates a dedicated PostgreSQL database (default `bench_billing`),
runs the migrations, bulk-inserts users with a card on file, ten products and N
active monthly subscriptions whose period ended an hour ago (INSERT … SELECT
generate_series), then times `flask billing run` in-process and counts every SQL
statement the run sends (outbox relay included). It reports subscriptions per
second and statements per subscription: the second must not grow with N.

Each subscription also gets last period's paid invoice and transaction, so the
tables have their real size when the planner looks (autovacuum may be off: the
script ANALYZEs after seeding). It flushes the Redis database it is given and drops
its database at the end unless --keep. Run it against its own Redis
(`--redis-url`): it flushes that database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("APP_ENV", "development")

PRODUCTS = 10

SEED_SQL = [
    # Ten products with a monthly plan each (10 % platform fee, set below).
    """INSERT INTO product (id, slug, name, tagline, description, category, icon, is_active, product_schema,
                            created_at, updated_at)
       SELECT gen_random_uuid(), 'tool-' || p, 'Tool ' || p, '', '', 'Business', '', true, '{}', now(), now()
       FROM generate_series(1, :products) AS p""",
    """INSERT INTO plan (id, product_id, name, billing_cycle, price, currency, discount_percent, trial_days,
                         features, is_active, sort_order, created_at, updated_at)
       SELECT gen_random_uuid(), id, 'Team', 'monthly', 4900, 'USD', 10, 14, '[]', true, 0, now(), now()
       FROM product""",
    # One user per PRODUCTS subscriptions, each with a sandbox card on file.
    """INSERT INTO users (id, email, username, first_name, last_name, role_id, is_active, email_verified_at,
                          created_at, updated_at)
       SELECT gen_random_uuid(), 'bench' || u || '@example.test', 'bench' || u, 'Bench', 'User',
              (SELECT id FROM role WHERE name = 'customer'), true, now(), now(), now()
       FROM generate_series(1, :users) AS u""",
    """INSERT INTO payment_method (id, user_id, gateway, token, brand, last4, exp_month, exp_year, holder_name,
                                   is_default, created_at)
       SELECT gen_random_uuid(), id, 'sandbox', 'pm_sandbox_ok_' || replace(id::text, '-', ''), 'Visa', '4242', 12,
              2034, 'Bench User', true, now()
       FROM users""",
    # Every user subscribes to every product: N subscriptions, all due an hour ago.
    """INSERT INTO subscription (id, user_id, plan_id, product_id, status, quantity, billing_method, started_at,
                                 current_period_start, current_period_end, auto_renew, cancel_at_period_end,
                                 retry_count, answers, created_at, updated_at)
       SELECT gen_random_uuid(), u.id, p.id, p.product_id, 'active', 1, 'card', now() - interval '31 days',
              now() - interval '31 days', now() - interval '1 hour', true, false, 0, '{}', now(), now()
       FROM users u CROSS JOIN plan p""",
    # Each was renewed once before: last period's payment and paid invoice (a store is never empty, and
    # the planner should see tables of their real size).
    """INSERT INTO payment_transaction (id, user_id, subscription_id, kind, purpose, status, amount, currency,
                                        gateway, gateway_reference, idempotency_key, created_at, updated_at,
                                        settled_at)
       SELECT gen_random_uuid(), user_id, id, 'charge', 'renewal', 'succeeded', 4851, 'USD', 'sandbox',
              'ch_history_' || replace(id::text, '-', ''), 'renewal:history:' || id, started_at, started_at,
              started_at
       FROM subscription""",
    """INSERT INTO invoice (id, number, kind, status, user_id, subscription_id, transaction_id, payment_method,
                           payment_label, currency, subtotal, discount, fee, fee_percent, total, period_start,
                           period_end, issued_at, due_at, paid_at, bill_to, note, created_at, updated_at)
       SELECT gen_random_uuid(), 'INV-2000-' || lpad(row_number() OVER (ORDER BY t.id)::text, 6, '0'), 'invoice',
              'paid', t.user_id, t.subscription_id, t.id, 'card', 'Visa •••• 4242', 'USD', 4900, 490, 441, 10, 4851,
              t.created_at, t.created_at + interval '1 month', t.created_at, t.created_at, t.created_at, '{}', '',
              t.created_at, t.created_at
       FROM payment_transaction t""",
]


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_app(database_url: str, redis_url: str, sandbox_webhooks: bool = False):
    from app import create_app

    # The sandbox's webhook simulation (an outbox job per charge) stands in for the provider's own
    # servers; it is off unless asked for, so the numbers are the renewal path's own cost.
    return create_app(
        "development",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "JOBS_INLINE": False,
            "RATELIMIT_STORAGE_URI": redis_url,
            "DEV_MAIL_OUTBOX": False,
            "LOG_LEVEL": "WARNING",
            "PAYMENT_SANDBOX_WEBHOOKS": sandbox_webhooks,
        },
    )


def seed(app, total: int) -> None:
    from flask_migrate import upgrade

    from app.catalog.fees import set_fee
    from app.extensions import db
    from app.seeds import seed_reference_data

    with app.app_context():
        upgrade()
        seed_reference_data()
        db.session.commit()
        set_fee("10", actor_id=None, reason="benchmark")
        with db.engine.begin() as conn:
            for statement in SEED_SQL:
                conn.execute(sa.text(statement), {"products": PRODUCTS, "users": total // PRODUCTS})
            conn.execute(sa.text("ANALYZE"))
        app.extensions["redis"].flushdb()


def timed_run(app) -> dict:
    from app.extensions import db

    statements: Counter = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        verb = words[0].upper() if words else "?"
        table = next(
            (
                w.strip('"')
                for w, prev in zip(words[1:], words, strict=False)
                if prev.upper() in ("INTO", "FROM", "UPDATE")
            ),
            "?",
        )
        statements[f"{verb} {table}"] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["billing", "run"])
    elapsed = time.perf_counter() - started
    sa.event.remove(engine, "before_cursor_execute", count)
    if result.exit_code != 0:
        raise SystemExit(f"flask billing run failed:\n{result.output}\n{result.exception!r}")
    with app.app_context():
        paid = db.session.scalar(
            sa.text("SELECT count(*) FROM invoice WHERE status = 'paid' AND issued_at > now() - interval '1 day'")
        )
        renewed = db.session.scalar(
            sa.text("SELECT count(*) FROM subscription WHERE current_period_end > now() + interval '20 days'")
        )
        charges = app.extensions["redis"].llen("sandbox:charges")
        db.session.remove()
    return {
        "seconds": elapsed,
        "statements": statements,
        "output": result.output.strip(),
        "paid": paid,
        "renewed": renewed,
        "charges": charges,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "bench_billing"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--sandbox-webhooks",
        action="store_true",
        help="also queue the sandbox's simulated webhook delivery for every charge",
    )
    args = parser.parse_args()
    base = args.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    rows = []
    for total in args.sizes:
        recreate_database(args.admin_url, args.database)
        app = build_app(f"{base}/{args.database}", args.redis_url, args.sandbox_webhooks)
        started = time.perf_counter()
        seed(app, total)
        print(f"\n== {total:,} subscriptions due (seeded in {time.perf_counter() - started:.1f} s)")
        run = timed_run(app)
        total_statements = sum(run["statements"].values())
        print(run["output"])
        print(f"renewed {run['renewed']:,}, invoices paid {run['paid']:,}, sandbox charges {run['charges']:,}")
        print(
            f"{run['seconds']:.1f} s: {total / run['seconds']:,.0f} subscriptions/s, "
            f"{total_statements:,} SQL statements = {total_statements / total:.2f} per subscription"
        )
        for kind, n in run["statements"].most_common(12):
            print(f"   {n / total:6.3f}/sub  {kind}")
        rows.append((total, run["seconds"], total / run["seconds"], total_statements / total))
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
        app.extensions["redis"].flushdb()
    if not args.keep:
        drop_database(args.admin_url, args.database)
    print("\n| subscriptions | run time | subscriptions/s | SQL statements per subscription |")
    print("|---:|---:|---:|---:|")
    for total, seconds, rate, per_sub in rows:
        print(f"| {total:,} | {seconds:.1f} s | {rate:,.0f} | {per_sub:.2f} |")


if __name__ == "__main__":
    main()
