"""Export my data (ASVS V14 data protection): step-up, a worker prepares it, an emailed link for 24 h,
only the owner downloads it, and the hourly clean-up purges it."""

import json
import re
from datetime import timedelta

import sqlalchemy as sa

from app.account import exports
from app.extensions import db
from app.models.base import utcnow
from app.models.export import DataExport
from tests.auth.conftest import delivered, queued_jobs
from tests.factories import InvoiceFactory, NotificationFactory, PlanFactory, SubscriptionFactory
from tests.support.users import make_user, sign_in


def _ada(app, client, *, recent=True):
    with app.app_context():
        user = make_user(username="ada", email="ada@example.com", first_name="Ada")
        plan = PlanFactory()
        SubscriptionFactory(user=user, plan=plan)
        InvoiceFactory(user=user, plan=plan, status="paid")
        NotificationFactory(user_id=user.id)
        sign_in(client, user, recent=recent)
        return user.id


def _link(app) -> str:
    [message] = delivered(app, "export_ready")
    return re.search(r"https?://[^/\s]+(/account/export/\S+)", message.text).group(1)


def test_the_page_and_the_request_need_a_recent_authentication(app, client):
    _ada(app, client, recent=False)
    assert client.get("/account/export").headers["Location"] == "/account/confirm?next=/account/export"
    assert client.post("/account/export").headers["Location"].startswith("/account/confirm")
    assert queued_jobs(app, "jobs.account.prepare_export") == []


def test_a_worker_prepares_the_export_and_the_emailed_link_downloads_it(app, client, run_jobs):
    user_id = _ada(app, client)
    assert "Prepare my data" in client.get("/account/export").text
    asked = client.post("/account/export")
    assert asked.status_code == 303
    assert "Preparing" in client.get("/account/export").text
    [job] = queued_jobs(app, "jobs.account.prepare_export")
    with app.app_context():
        export = db.session.scalar(sa.select(DataExport))
        assert job["args"] == [str(export.id)] and export.user_id == user_id  # the id only, no token
    link = _link(app)  # runs the queued jobs through a real RQ worker
    page = client.get("/account/export").text
    assert "Ready" in page and "Download your data" in page
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(download.data)
    assert data["profile"]["username"] == "ada" and data["profile"]["email"] == "ada@example.com"
    assert len(data["subscriptions"]) == 1 and data["subscriptions"][0]["status"] == "active"
    assert len(data["invoices"]) == 1 and data["invoices"][0]["number"].startswith("INV-")
    assert len(data["notifications"]) == 1 and data["sessions"]
    assert "user.export_requested" in [e["action"] for e in data["events"]]


def test_another_person_and_a_wrong_token_get_a_404(app, client):
    _ada(app, client)
    client.post("/account/export")
    link = _link(app)
    assert client.get(re.sub(r"token=\w+", "token=" + "0" * 64, link)).status_code == 404
    assert client.get(link.split("?")[0]).status_code == 404
    other = app.test_client()
    with app.app_context():
        sign_in(other, make_user(username="grace"))
    assert other.get(link).status_code == 404
    assert app.test_client().get(link).status_code in (302, 303)  # signed out: to the login page


def test_the_link_expires_after_24_hours_and_the_clean_up_purges_it(app, client):
    _ada(app, client)
    client.post("/account/export")
    link = _link(app)
    with app.app_context():
        export = db.session.scalar(sa.select(DataExport))
        export.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get(link).status_code == 404
    assert "Expired" in client.get("/account/export").text
    with app.app_context():
        assert exports.purge_expired() == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 0


def test_asking_twice_while_preparing_queues_one_job(app, client):
    _ada(app, client)
    client.post("/account/export")
    client.post("/account/export")
    assert len(queued_jobs(app, "jobs.account.prepare_export")) == 1


def test_the_request_needs_its_csrf_token(make_app):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    with csrf_app.app_context():
        sign_in(client, make_user(username="ada"))
    assert client.post("/account/export").status_code == 400
    with csrf_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 0
