"""identity: only verified phone numbers are unique; stored emails in their normal form

Revision ID: a5e1c7d3f9b2
Revises: 8c11036201c4
Create Date: 2026-12-03 12:00:00.000000

An unverified number (typed at signup, never proven) no longer blocks anyone: it may be on
several accounts, and only a verified one signs in. Stored email addresses get the normal form
the app now looks them up by (app/auth/emails.py): NFC, lower case, IDNA domain. An address
whose normal form another row already has, or that has none (a non-ASCII local part), is left
as it is: it still signs in as typed.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

# revision identifiers, used by Alembic.
revision = "a5e1c7d3f9b2"
down_revision = "8c11036201c4"
branch_labels = None
depends_on = None

VERIFIED = "phone_verified_at IS NOT NULL"


def _normal(email: str) -> str | None:
    # A copy of app/auth/emails.normalize_email as of this revision: migrations don't import the app.
    text = unicodedata.normalize("NFC", email.strip())
    if not text.rpartition("@")[0].isascii():
        return None
    try:
        address = validate_email(text, check_deliverability=False, allow_smtputf8=False).ascii_email.lower()
    except EmailNotValidError:
        return None
    return address if len(address) <= 254 else None


def _normalize_emails() -> None:
    users = sa.table("users", sa.column("id"), sa.column("email"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.id, users.c.email)).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        normal = _normal(email)
        if normal and normal != email and normal not in taken:
            conn.execute(sa.update(users).where(users.c.id == user_id).values(email=normal))
            taken.add(normal)


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_phone", type_="unique")
        batch_op.create_index("ix_users_phone", ["phone"], unique=False)
        batch_op.create_index(
            "uq_users_verified_phone",
            ["phone"],
            unique=True,
            postgresql_where=sa.text(VERIFIED),
            sqlite_where=sa.text(VERIFIED),
        )
    _normalize_emails()


def downgrade():
    # The old constraint allows each number once: unverified copies of a shared number are cleared.
    op.execute(
        "UPDATE users SET phone = NULL WHERE phone IS NOT NULL AND phone_verified_at IS NULL AND "
        "phone IN (SELECT phone FROM users GROUP BY phone HAVING count(*) > 1)"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_verified_phone")
        batch_op.drop_index("ix_users_phone")
        batch_op.create_unique_constraint("uq_users_phone", ["phone"])
