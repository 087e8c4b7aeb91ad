"""Staff on a user's page: "Sign out everywhere" (ASVS V7.4.5) and "Delete this account" (users.manage, step-up)."""

import sqlalchemy as sa

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.notification import Notification
from app.models.user import User, UserSession
from tests.auth.conftest import delivered
from tests.factories import PlanFactory, SubscriptionFactory
from tests.support.users import make_user, sign_in


def _victim(app):
    browser = app.test_client()
    with app.app_context():
        user = make_user(username="mallory", email="mallory@example.com")
        sign_in(browser, user)
        sign_in(app.test_client(), user)
        return user.id, browser


def _live(app, user_id) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        )


def test_admin_signs_a_user_out_everywhere_audited_and_the_user_is_told(app, admin_client):
    user_id, browser = _victim(app)
    assert browser.get("/account/profile").status_code == 200
    page = admin_client.get(f"/admin/users/{user_id}")
    assert "Sign out everywhere" in page.text
    done = admin_client.post(f"/admin/users/{user_id}/sign-out-everywhere")
    assert done.status_code == 303
    assert "is signed out everywhere (2 sessions ended)" in admin_client.get(done.headers["Location"]).text
    assert _live(app, user_id) == 0
    next_click = browser.get("/account/profile")
    assert next_click.status_code in (302, 303) and "/auth/login" in next_click.headers["Location"]
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.signed_out_everywhere"))
        assert event.actor_id == admin_client.user_id and event.after == {"sessions_ended": 2}
        note = db.session.scalar(sa.select(Notification).where(Notification.user_id == user_id))
        assert note.kind == "signed_out_everywhere"
    [email] = delivered(app, "signed_out_everywhere")
    assert email.to == "mallory@example.com" and "signed your account out on every device" in email.text


def test_support_and_customers_cannot_sign_users_out_or_delete_them(app, support_client, customer_client):
    user_id, _ = _victim(app)
    assert support_client.post(f"/admin/users/{user_id}/sign-out-everywhere").status_code == 403
    assert support_client.post(f"/admin/users/{user_id}/delete", data={"username": "mallory"}).status_code == 403
    assert customer_client.post(f"/admin/users/{user_id}/sign-out-everywhere").status_code == 404
    assert customer_client.post(f"/admin/users/{user_id}/delete", data={"username": "mallory"}).status_code == 404
    assert _live(app, user_id) == 2


def test_an_unknown_user_is_a_404(app, admin_client):
    missing = "00000000-0000-0000-0000-000000000009"
    assert admin_client.post(f"/admin/users/{missing}/sign-out-everywhere").status_code == 404
    assert admin_client.post(f"/admin/users/{missing}/delete", data={"username": "x"}).status_code == 404


def test_admin_deletes_an_account_after_step_up_and_typing_the_username(app, admin_client):
    user_id, browser = _victim(app)
    with app.app_context():
        sub = SubscriptionFactory(user=db.session.get(User, user_id), plan=PlanFactory())
        sub_id = sub.id
    refused = admin_client.post(f"/admin/users/{user_id}/delete", data={"username": "malory"})
    assert refused.status_code == 400 and 'id="username-error"' in refused.text
    with app.app_context():
        assert db.session.get(User, user_id).deleted_at is None
    done = admin_client.post(f"/admin/users/{user_id}/delete", data={"username": "mallory"})
    assert done.status_code == 303
    assert "The account mallory is deleted" in admin_client.get(done.headers["Location"]).text
    assert browser.get("/account/profile").status_code in (302, 303)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.deleted_at is not None and user.email.endswith("@deleted.invalid")
        assert db.session.get(type(sub), sub_id).status == "cancelled"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deleted"))
        assert event.actor_id == admin_client.user_id and event.after["by"] == "staff"
    assert [m.to for m in delivered(app, "account_deleted")] == ["mallory@example.com"]


def test_deleting_from_the_admin_page_needs_a_recent_authentication(app):
    user_id, _ = _victim(app)
    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="root", role="admin"), recent=False)
    response = client.post(
        f"/admin/users/{user_id}/delete",
        data={"username": "mallory"},
        headers={"Referer": f"http://localhost/admin/users/{user_id}"},
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/account/confirm")
    with app.app_context():
        assert db.session.get(User, user_id).deleted_at is None


def test_an_admin_account_is_not_deleted_from_another_admins_page(app, admin_client):
    with app.app_context():
        other_id = make_user(username="second", role="admin").id
    refused = admin_client.post(f"/admin/users/{other_id}/delete", data={"username": "second"})
    assert refused.status_code == 409 and "change its role first" in refused.text
    own = admin_client.post(f"/admin/users/{admin_client.user_id}/delete", data={"username": "root"})
    assert own.status_code == 409


def test_the_admin_actions_need_their_csrf_token(make_app):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    with csrf_app.app_context():
        sign_in(client, make_user(username="root", role="admin"))
        victim = make_user(username="mallory")
        sign_in(csrf_app.test_client(), victim)
        victim_id = victim.id
    assert client.post(f"/admin/users/{victim_id}/sign-out-everywhere").status_code == 400
    assert client.post(f"/admin/users/{victim_id}/delete", data={"username": "mallory"}).status_code == 400
    assert _live(csrf_app, victim_id) == 1


def test_a_deleted_account_cannot_be_reactivated_or_deleted_again(app, admin_client):
    user_id, _ = _victim(app)
    admin_client.post(f"/admin/users/{user_id}/delete", data={"username": "mallory"})
    page = admin_client.get(f"/admin/users/{user_id}")
    assert page.status_code == 200 and "Deleted" in page.text
    assert "Reactivate" not in page.text and "Delete this account" not in page.text
    assert admin_client.post(f"/admin/users/{user_id}/reactivate").status_code == 409
    with app.app_context():
        username = db.session.get(User, user_id).username
        assert db.session.get(User, user_id).is_active is False
    assert admin_client.post(f"/admin/users/{user_id}/delete", data={"username": username}).status_code == 404
