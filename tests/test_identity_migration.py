"""Migration a5e1c7d3f9b2 on data written before it: emails get their normal form,
shared unverified numbers are allowed."""

import uuid

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db

BEFORE = "8c11036201c4"


def _insert(conn, email, phone=None, verified=False):
    conn.execute(
        sa.text(
            "INSERT INTO users (id, email, username, phone, first_name, last_name, role_id, is_active, "
            "phone_verified_at, created_at, updated_at) VALUES (:id, :email, :username, :phone, '', '', 1, 1, "
            ":verified, '2026-01-01', '2026-01-01')"
        ),
        {
            "id": uuid.uuid4().hex,
            "email": email,
            "username": f"u{uuid.uuid4().hex[:8]}",
            "phone": phone,
            "verified": "2026-01-01" if verified else None,
        },
    )


def test_stored_emails_get_their_normal_form_unless_it_is_taken_or_undeliverable(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            for email in ("ada@exämple.com", "bob@ｅｘａｍｐｌｅ.com", "bob@example.com", "zoë@example.com"):
                _insert(conn, email)
        upgrade()
        with db.engine.connect() as conn:
            emails = set(conn.scalars(sa.text("SELECT email FROM users")))
    assert emails == {
        "ada@xn--exmple-cua.com",  # the IDNA form it is now looked up by
        "bob@ｅｘａｍｐｌｅ.com",  # its normal form belongs to another row: left, still signs in as typed
        "bob@example.com",
        "zoë@example.com",
    }  # no normal form (non-ASCII local part): left


def test_unverified_numbers_may_repeat_after_it_and_going_back_keeps_one_copy(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'phones.db'}")
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            _insert(conn, "a@example.com", "+14155550100", verified=True)
            _insert(conn, "b@example.com", "+14155550100")
            _insert(conn, "c@example.com", "+14155550100")
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT email FROM users WHERE phone IS NOT NULL")).scalars().all()
    assert kept == ["a@example.com"]
