import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Notification, Role, User, UserSession
from tests.support.users import make_user, sign_in


def test_admin_finds_users_by_email_username_or_phone(app, admin_client):
    with app.app_context():
        make_user(username="grace", email="grace@navy.test", phone="+14155550123")
        make_user(username="linus", email="linus@kernel.test")
    for q in ("navy", "grace", "4155550"):
        page = admin_client.get(f"/admin/users?q={q}").get_data(as_text=True)
        assert "grace@navy.test" in page and "linus@kernel.test" not in page
    partial = admin_client.get("/admin/users?q=linus", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "linus@kernel.test" in partial and "<html" not in partial


def test_admin_finds_a_user_by_any_spelling_of_the_address(app, admin_client):
    with app.app_context():
        make_user(username="ada", email="ada@xn--exmple-cua.com")  # stored in its normal form (IDNA domain)
    for q in ("Ada@Exämple.com", "ADA@exa\u0308mple.com"):
        for path in ("/admin/users", "/admin/audit", "/admin/subscriptions"):
            assert admin_client.get(path, query_string={"q": q}).status_code == 200
        assert "ada@xn--exmple-cua.com" in admin_client.get("/admin/users", query_string={"q": q}).text, q


def test_deactivating_a_user_ends_their_sessions_and_is_audited(app, admin_client):
    victim_client = app.test_client()
    with app.app_context():
        victim = make_user(username="mallory")
        sign_in(victim_client, victim)
        victim_id = victim.id
    response = admin_client.post(f"/admin/users/{victim_id}/deactivate")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(User, victim_id).is_active is False
        live = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == victim_id, UserSession.revoked_at.is_(None))
        )
        assert live == 0
        assert (
            db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(victim_id)))
            == "user.deactivated"
        )
    assert admin_client.post(f"/admin/users/{victim_id}/reactivate").status_code == 303
    with app.app_context():
        assert db.session.get(User, victim_id).is_active is True


def test_support_sees_users_but_cannot_change_roles_or_deactivate(app, support_client):
    with app.app_context():
        target_id = make_user(username="target").id
        admin_role_id = db.session.scalar(sa.select(Role.id).where(Role.name == "admin"))
    assert support_client.get(f"/admin/users/{target_id}").status_code == 200
    assert support_client.post(f"/admin/users/{target_id}/role", data={"role_id": admin_role_id}).status_code == 403
    assert support_client.post(f"/admin/users/{target_id}/deactivate").status_code == 403
    with app.app_context():
        assert db.session.get(User, target_id).role.name == "customer"


def test_admin_changes_a_role_and_bad_role_input_is_a_400(app, admin_client):
    with app.app_context():
        target_id = make_user(username="promoted").id
        support_id = db.session.scalar(sa.select(Role.id).where(Role.name == "support"))
    assert admin_client.post(f"/admin/users/{target_id}/role", data={"role_id": support_id}).status_code == 303
    assert admin_client.post(f"/admin/users/{target_id}/role", data={"role_id": "abc"}).status_code == 400
    assert admin_client.post(f"/admin/users/{target_id}/role", data={"role_id": "99999"}).status_code == 400
    with app.app_context():
        assert db.session.get(User, target_id).role.name == "support"


def test_an_admin_cannot_deactivate_themselves(app, admin_client):
    response = admin_client.post(f"/admin/users/{admin_client.user_id}/deactivate")
    assert response.status_code == 409


def test_announcement_preview_then_send_reaches_everyone(app, admin_client, run_jobs):
    with app.app_context():
        make_user(username="reader1")
        make_user(username="reader2")
    preview = admin_client.post(
        "/admin/announcements",
        data={"audience": "all", "title": "New feature", "body": "Dark mode is here.", "action": "preview"},
    )
    assert preview.status_code == 200 and "As an email" in preview.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    sent = admin_client.post(
        "/admin/announcements",
        data={"audience": "all", "title": "New feature", "body": "Dark mode is here.", "action": "send"},
    )
    assert sent.status_code == 303
    run_jobs()
    with app.app_context():
        titles = db.session.scalars(sa.select(Notification.title)).all()
    assert titles.count("New feature") == 3  # two readers and the admin


def test_bad_announcements_are_explained(app, admin_client):
    for data, message in [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "T", "body": ""}, "text"),
        ({"title": "T", "body": "B", "audience": "not-a-product"}, "Choose everyone"),
    ]:
        response = admin_client.post("/admin/announcements", data={"action": "send", **data})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)


def test_admin_sends_a_reset_link_and_resends_verification_without_seeing_passwords(
    app, admin_client, run_jobs, smtp_sink
):
    with app.app_context():
        verified_id = make_user(username="verified").id
        unverified_id = make_user(username="newbie", verified=False).id
    assert admin_client.post(f"/admin/users/{verified_id}/send-reset").status_code == 303
    assert admin_client.post(f"/admin/users/{unverified_id}/resend-verification").status_code == 303
    assert admin_client.post(f"/admin/users/{verified_id}/resend-verification").status_code == 409
    run_jobs()
    messages = smtp_sink.wait_for(2)
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects[0].startswith("Reset your") and "verification code" in subjects[1]
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"user.reset_link_sent", "user.verification_resent"} <= actions
