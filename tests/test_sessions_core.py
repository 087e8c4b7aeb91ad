"""The server-side session core that login builds on."""

import sqlalchemy as sa

from app.auth.sessions import MAX_SESSIONS, describe_device
from app.extensions import db
from app.models.base import utcnow
from app.models.user import UserSession
from tests.support.users import make_user, sign_in


def test_a_live_session_row_authenticates_and_revoking_it_signs_out(app, client):
    from app.auth.sessions import load_user

    with app.app_context():
        user = make_user(username="grace")
        record = sign_in(client, user)
    with app.test_request_context():
        loaded = load_user(str(record.id))
        assert loaded is not None and loaded.username == "grace"
        assert loaded.get_id() == str(record.id)
        db.session.execute(sa.update(UserSession).values(revoked_at=utcnow()))
        db.session.commit()
        assert load_user(str(record.id)) is None
        assert load_user("not-a-uuid") is None


def test_device_is_described_from_the_user_agent():
    ua = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Safari/537.36"
    )
    assert describe_device(ua) == "Chrome on Mac OS X"
    assert describe_device("") == "Unknown device"


def test_roles_are_seeded_with_their_permissions(app):
    from app.rbac import role_named

    with app.app_context():
        assert role_named("admin").permission_names >= {"billing.refund", "roles.manage", "fee.manage"}
        assert "billing.refund" not in role_named("support").permission_names
        assert "users.view" in role_named("support").permission_names
        assert role_named("customer").permission_names == frozenset()
    assert MAX_SESSIONS == 5
