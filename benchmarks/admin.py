"""Admin pages with 100,000 users and 200,000 invoices, as a ratio to a bare route (same gunicorn, same run).

    .venv/bin/python benchmarks/admin.py [--users 100000] [--invoices 200000] [--duration 10] [--rounds 3]

The data is bulk-inserted with generate_series (minutes would go to the ORM otherwise). The admin
signs in with a real server-side session whose cookie is signed with the server's SECRET_KEY.
Pages that this build does not have (404) are reported and skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness  # noqa: E402

BASELINE = "bare route (base layout)"
SECRET_KEY = "benchmark-only-secret-key-0123456789abcdef"  # the harness Server's
PAGES = [
    (BASELINE, "/_bench/bare"),
    ("dashboard", "/admin/"),
    ("users, page 1", "/admin/users"),
    ("users, search", "/admin/users?q=user4242"),
    ("users, page 2000", "/admin/users?page=2000"),
    ("audit log", "/admin/audit"),
    ("invoices, page 1", "/admin/invoices"),
    ("invoices, paid, page 500", "/admin/invoices?status=paid&page=500"),
    ("transactions", "/admin/transactions"),
    ("subscriptions", "/admin/subscriptions"),
]


def load(users: int, invoices: int) -> None:
    import sqlalchemy as sa

    from app.extensions import db
    from app.rbac import role_named

    customer = role_named("customer").id
    run = lambda sql, **params: db.session.execute(sa.text(sql), params)  # noqa: E731
    run(
        """
        INSERT INTO users (id, email, username, first_name, last_name, role_id, is_active,
                           email_verified_at, created_at, updated_at)
        SELECT gen_random_uuid(), 'user' || g || '@bench.test', 'user' || g, 'Bench', 'User ' || g, :role, true,
               now(), now() - (g % 400) * interval '1 day', now()
        FROM generate_series(1, :n) AS g""",
        role=customer,
        n=users,
    )
    run("""
        CREATE TEMP TABLE bench_user_ids AS
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM users""")
    run(
        """
        INSERT INTO payment_transaction (id, user_id, kind, purpose, status, amount, currency, gateway,
                                         gateway_reference, idempotency_key, settled_at, created_at, updated_at)
        SELECT gen_random_uuid(), u.id, 'charge', 'renewal', 'succeeded', 4900 + (g % 50) * 100, 'USD', 'sandbox',
               'bench_ch_' || g, 'bench-' || g, now() - (g % 360) * interval '1 day',
               now() - (g % 360) * interval '1 day', now()
        FROM generate_series(1, :n) AS g JOIN bench_user_ids u ON u.n = 1 + (g % :users)""",
        n=invoices,
        users=users,
    )
    run("""
        INSERT INTO invoice (id, number, kind, status, user_id, transaction_id, payment_method, payment_label,
                             currency, subtotal, discount, fee, fee_percent, total, issued_at, due_at, paid_at,
                             bill_to, note, created_at, updated_at)
        SELECT gen_random_uuid(), 'INV-2026-' || lpad(g::text, 6, '0'), 'invoice',
               CASE WHEN g % 20 = 0 THEN 'open' WHEN g % 97 = 0 THEN 'void' ELSE 'paid' END,
               t.user_id, t.id, 'card', 'Visa •••• 4242', 'USD', t.amount, 0, t.amount / 40, 2.50,
               t.amount + t.amount / 40, t.created_at, t.created_at, t.created_at, '{}'::jsonb, '',
               t.created_at, now()
        FROM (SELECT *, row_number() OVER (ORDER BY gateway_reference) AS g FROM payment_transaction) AS t""")
    run(
        """
        INSERT INTO audit_event (id, created_at, actor_id, action, target_type, target_id, ip, request_id)
        SELECT gen_random_uuid(), now() - (g % 300) * interval '1 hour', u.id,
               (ARRAY['auth.login', 'auth.login_failed', 'user.signup', 'auth.logout'])[1 + g % 4],
               'users', u.id::text, '203.0.113.' || (g % 250), md5(g::text)
        FROM generate_series(1, :n) AS g JOIN bench_user_ids u ON u.n = 1 + (g % :users)""",
        n=users,
        users=users,
    )


def admin_cookie() -> str:
    """A live UserSession for a new admin, as the Flask session cookie the server will accept."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    from app.extensions import db
    from app.models.user import User, UserSession
    from app.rbac import role_named

    admin = User(email="bench-admin@bench.test", username="bench_admin", role=role_named("admin"))
    db.session.add(admin)
    db.session.flush()
    record = UserSession(user_id=admin.id, device="benchmark", ip="127.0.0.1")
    db.session.add(record)
    db.session.commit()
    signing_app = Flask("bench")
    signing_app.secret_key = SECRET_KEY
    signer = SecureCookieSessionInterface().get_signing_serializer(signing_app)
    return "session=" + signer.dumps({"_user_id": str(record.id), "_fresh": True})


def main(argv: list[str] | None = None) -> harness.Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    harness.add_load_arguments(parser)
    args = parser.parse_args(argv)

    cookie: dict[str, str] = {}

    def loader() -> None:
        load(args.users, args.invoices)
        cookie["value"] = admin_cookie()

    print(f"admin: loading {args.users} users and {args.invoices} invoices into {harness.DATABASE} …", flush=True)
    database = harness.prepare_database(loader)
    headers = {"Cookie": cookie["value"]}
    import requests

    with harness.Server(database, workers=args.workers, threads=args.threads) as server:
        pages = []
        for name, path in PAGES:
            status = requests.get(server.url(path), headers=headers, timeout=30, allow_redirects=False).status_code
            if status == 200:
                pages.append((name, path))
            else:
                print(f"  skipping {name} ({path}): {status}", flush=True)
        results = harness.measure_pages(
            server, pages, duration=args.duration, connections=args.connections, rounds=args.rounds, headers=headers
        )
    harness.with_ratios(results, BASELINE)
    report = harness.Report("admin", vars(args), results)
    print(harness.table(results, BASELINE))
    print(f"saved {report.save().relative_to(harness.ROOT)}")
    return report


if __name__ == "__main__":
    main()
