"""Delete my account (ASVS V14 data protection): step-up, type the username, everything personal goes.

Subscriptions are cancelled at once and never renew, sessions end, the profile is erased, invoices
stay anonymized, a goodbye email goes to the old address, the username is held for 30 days, and
signing in again with the old credentials is refused with the usual message.
"""

from datetime import timedelta

import sqlalchemy as sa

from app.auth.usernames import check_username
from app.billing.services import lifecycle
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, PaymentMethod, Subscription
from app.models.notification import Notification
from app.models.social import SocialAccount
from app.models.user import User, UsernameHold, UserSession
from tests.auth.conftest import delivered, queued_emails
from tests.factories import InvoiceFactory, NotificationFactory, PlanFactory, SubscriptionFactory
from tests.support.checkout import save_card
from tests.support.users import DEFAULT_PASSWORD, make_user, sign_in


def _customer(app, client, *, recent=True):
    with app.app_context():
        user = make_user(
            username="ada",
            email="ada@example.com",
            first_name="Ada",
            last_name="Lovelace",
            phone="+14155550100",
            company="Analytical Engines",
            tax_id="GB123",
            address={"line1": "12 St James's Square", "city": "London"},
        )
        plan = PlanFactory()
        sub = SubscriptionFactory(user=user, plan=plan)
        invoice = InvoiceFactory(user=user, plan=plan, status="paid")
        NotificationFactory(user_id=user.id)
        save_card(user)
        db.session.add(SocialAccount(user_id=user.id, provider="google", subject="g-1", email="ada@gmail.example"))
        db.session.add(UserSession(user_id=user.id, device="Firefox on Linux", ip="203.0.113.9"))
        db.session.commit()
        sign_in(client, user, recent=recent)
        return user.id, sub.id, invoice.id


def test_the_page_needs_a_recent_authentication(app, client):
    _customer(app, client, recent=False)
    page = client.get("/account/delete")
    assert page.status_code == 303 and page.headers["Location"] == "/account/confirm?next=/account/delete"
    refused = client.post("/account/delete", data={"username": "ada"})
    assert refused.status_code == 303 and refused.headers["Location"].startswith("/account/confirm")
    with app.app_context():
        assert db.session.scalar(sa.select(User.deleted_at).where(User.username == "ada")) is None


def test_a_wrong_username_is_refused_beside_the_field_and_nothing_changes(app, client):
    user_id, sub_id, _ = _customer(app, client)
    page = client.get("/account/delete")
    assert page.status_code == 200 and "Type your username to confirm" in page.text
    refused = client.post("/account/delete", data={"username": "grace"})
    assert refused.status_code == 400
    assert 'id="username-error"' in refused.text and "Type your username, ada, exactly" in refused.text
    empty = client.post("/account/delete", data={"username": ""})
    assert empty.status_code == 400 and "Type the username to confirm." in empty.text
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.deleted_at is None and user.email == "ada@example.com"
        assert db.session.get(Subscription, sub_id).status == "active"


def test_deleting_erases_the_person_cancels_everything_and_keeps_anonymous_invoices(app, client):
    user_id, sub_id, invoice_id = _customer(app, client)
    done = client.post("/account/delete", data={"username": " Ada "})
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert client.get("/account/profile").status_code in (302, 303)  # this browser is signed out
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.deleted_at is not None and not user.is_active and user.password_hash is None
        assert user.email.endswith("@deleted.invalid") and user.username.startswith("deleted-")
        assert (user.first_name, user.last_name, user.phone, user.company, user.tax_id, user.address) == (
            "",
            "",
            None,
            None,
            None,
            None,
        )
        sub = db.session.get(Subscription, sub_id)
        assert sub.status == "cancelled" and sub.auto_renew is False and sub.ended_at is not None
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.number and invoice.status == "paid"  # kept, as the law asks
        assert invoice.bill_to["name"] == "Deleted customer" and invoice.bill_to["email"] == ""
        for model in (UserSession, Notification, PaymentMethod, SocialAccount):
            count = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.user_id == user_id))
            assert count == 0, model.__name__
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deleted"))
        assert event.actor_id == user_id and event.after["by"] == "self"
        assert event.after["subscriptions_cancelled"] == 1
        # No renewal ever charges again: the lifecycle finds nothing of theirs due, even after the period.
        report = lifecycle.run(now=utcnow() + timedelta(days=400))
        assert db.session.get(Subscription, sub_id).status == "cancelled"
        assert report is not None
    [goodbye] = queued_emails(app, "account_deleted")
    assert goodbye["to"] == "ada@example.com" and goodbye["context"]["username"] == "ada"
    assert "ada@example.com" in [m.to for m in delivered(app, "account_deleted")]


def test_after_deletion_the_old_credentials_are_refused_with_the_usual_message(app, client):
    _customer(app, client)
    client.post("/account/delete", data={"username": "ada"})
    for identifier in ("ada", "ada@example.com"):
        refused = client.post("/auth/login", data={"identifier": identifier, "password": DEFAULT_PASSWORD})
        assert refused.status_code == 401
        assert "don&#39;t match an account" in refused.text


def test_the_username_is_held_for_30_days_then_freed(app, client):
    _customer(app, client)
    client.post("/account/delete", data={"username": "ada"})
    other = app.test_client()
    check = other.get("/auth/check-username?username=ada", headers={"HX-Request": "true"})
    assert "taken" in check.text
    signup = other.post(
        "/auth/signup", data={"username": "ada", "email": "new-ada@example.com", "password": "a brand new passphrase"}
    )
    assert signup.status_code == 400 and "is taken" in signup.text
    with app.app_context():
        assert check_username("ada").status == "taken"
        db.session.execute(sa.update(UsernameHold).values(held_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        from app.account.erasure import release_expired_holds

        assert release_expired_holds() == 1
        app.extensions["redis"].delete("username:ada")
        assert check_username("ada").status == "available"


def test_the_last_admin_cannot_delete_their_account(app, client):
    with app.app_context():
        admin = make_user(username="root", role="admin")
        sign_in(client, admin)
    refused = client.post("/account/delete", data={"username": "root"})
    assert refused.status_code == 409 and "last admin" in refused.text
    with app.app_context():
        assert db.session.scalar(sa.select(User.deleted_at).where(User.username == "root")) is None


def test_the_delete_form_needs_its_csrf_token(make_app):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    with csrf_app.app_context():
        user = make_user(username="ada")
        sign_in(client, user)
    assert client.post("/account/delete", data={"username": "ada"}).status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(sa.select(User.deleted_at).where(User.username == "ada")) is None


def test_the_page_needs_a_signed_in_person(client):
    assert client.get("/account/delete").status_code in (302, 303)
    assert client.post("/account/delete", data={"username": "ada"}).status_code in (302, 303)
