import html
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Subscription
from app.models.notification import Notification
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory
from tests.support.checkout import SCHEMA
from tests.support.users import sign_in

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def at_t0(app, client, user, time_machine):
    """Signed in at T0 (a session cookie signed before a frozen past would not be accepted)."""
    time_machine.move_to(T0, tick=False)
    with app.app_context():
        sign_in(client, user)
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def refused_then_reloaded(client, response):
    """A refusal answers 303 to the trial's own GET page; that page (and a reload of it) shows the reason."""
    assert response.status_code == 303 and "/subscriptions/trial?plan_id=" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    reload = client.get(response.headers["Location"])
    assert page.status_code == reload.status_code == 200
    assert _main(page) == _main(reload)
    return page


def _main(response) -> str:
    """The page's card, with the CSRF token masked (it carries a timestamp that changes with the second)."""
    card = text(response).split('<section class="card', 1)[1].split("</section>", 1)[0]
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', 'name="csrf_token"', card)


def _subs(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Subscription)).all()
        db.session.expunge_all()
        return rows


def test_starting_a_trial_activates_it_at_once_with_a_notification_and_an_email(app, at_t0, shop, smtp_sink, run_jobs):
    signed_in = at_t0
    response = signed_in.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])})
    assert response.status_code == 303 and response.headers["Location"].endswith("/subscriptions/")
    [sub] = _subs(app)
    assert sub.status == "trial" and sub.trial_end == T0 + timedelta(days=14)
    assert sub.current_period_end == sub.trial_end and sub.auto_renew
    with app.app_context():
        note = db.session.scalar(sa.select(Notification))
        assert note.kind == "trial_started" and "Pipeline CRM" in note.title
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert "ada@example.test" in message["To"]
    assert "18 May 2026" in smtp_sink.text(message) and "Pipeline CRM" in smtp_sink.text(message)
    page = signed_in.get("/subscriptions/").get_data(as_text=True)
    assert "Free trial" in page and "18 May 2026" in page


def test_a_second_trial_of_the_same_product_is_refused_with_the_reason(app, at_t0, user, shop, time_machine):
    signed_in = at_t0
    signed_in.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])})
    time_machine.move_to(T0 + timedelta(days=20), tick=False)
    with app.app_context():
        db.session.execute(sa.update(Subscription).values(status="expired", ended_at=T0 + timedelta(days=14)))
        db.session.commit()
        sign_in(signed_in, user)  # 20 days on, the first sign-in has long timed out: the customer signs in again
    again = signed_in.post("/subscriptions/trial", data={"plan_id": str(shop["crm_pro"])})
    page = text(refused_then_reloaded(signed_in, again))
    assert "already had your free trial of Pipeline CRM" in page and "04 May 2026" in page
    assert "ended on 18 May 2026" in page and "one trial per product" in page
    assert len(_subs(app)) == 1


def test_a_customer_of_the_product_gets_no_trial(app, signed_in, user, shop):
    with app.app_context():
        SubscriptionFactory(user_id=user.id, plan_id=shop["crm_team"])
    response = signed_in.post("/subscriptions/trial", data={"plan_id": str(shop["crm_pro"])})
    assert "already subscribe" in text(refused_then_reloaded(signed_in, response))
    # A boosted form gets the same 303, which HTMX follows: the address bar ends on the GET page, never the POST.
    boosted = signed_in.post(
        "/subscriptions/trial",
        data={"plan_id": str(shop["crm_pro"])},
        headers={"HX-Request": "true", "HX-Boosted": "true"},
    )
    assert boosted.status_code == 303 and "/subscriptions/trial?plan_id=" in boosted.headers["Location"]
    assert _subs(app)[0].status == "active" and len(_subs(app)) == 1


def test_required_product_details_are_asked_first(app, signed_in):
    with app.app_context():
        plan_id = PlanFactory(product=ProductFactory(name="Helpdesk", product_schema=SCHEMA)).id
    first = signed_in.post("/subscriptions/trial", data={"plan_id": str(plan_id)})
    assert first.status_code == 303 and first.headers["Location"] == f"/subscriptions/trial?plan_id={plan_id}"
    page = signed_in.get(first.headers["Location"]).get_data(as_text=True)
    assert 'name="company_name"' in page and 'name="answers_submitted"' in page
    assert _subs(app) == []
    bad = signed_in.post(
        "/subscriptions/trial",
        data={"plan_id": str(plan_id), "answers_submitted": "1", "company_name": "A", "seats": "9999"},
        headers={"HX-Request": "true", "HX-Boosted": "true"},
    )
    # The messages beside the answers; the address bar gets the questions' GET page, which a reload shows.
    assert bad.status_code == 400 and bad.headers["HX-Push-Url"] == first.headers["Location"]
    assert signed_in.get(bad.headers["HX-Push-Url"]).status_code == 200
    assert "at least 2 characters" in bad.get_data(as_text=True) and "at most 500" in bad.get_data(as_text=True)
    assert _subs(app) == []
    ok = signed_in.post(
        "/subscriptions/trial",
        data={"plan_id": str(plan_id), "answers_submitted": "1", "company_name": "Acme Ltd", "seats": "12"},
    )
    assert ok.status_code == 303
    assert _subs(app)[0].answers == {"company_name": "Acme Ltd", "seats": 12}


@pytest.mark.parametrize(
    "plan,status,message",
    [
        ("not-a-uuid", 400, "doesn't exist"),
        ("' OR 1=1 --", 400, "doesn't exist"),
        ("00000000-0000-4000-8000-000000000000", 404, "doesn't exist"),
        ("retired", 409, "no longer offered"),
        ("no_trial", 409, "has no free trial"),
    ],
)
def test_a_bad_or_unavailable_plan_gets_a_clear_message_and_no_trial(app, signed_in, plan, status, message):
    with app.app_context():
        product = ProductFactory(name="Wiki")
        plans = {
            "retired": PlanFactory(product=product, is_active=False),
            "no_trial": PlanFactory(product=product, trial_days=0),
        }
        plan_id = str(plans[plan].id) if plan in plans else plan
    response = signed_in.post("/subscriptions/trial", data={"plan_id": plan_id})
    assert response.status_code == status and message in text(response)
    assert _subs(app) == []


def test_starting_a_trial_needs_a_signed_in_user(client, shop):
    response = client.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])})
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


@pytest.mark.postgres
def test_concurrent_trial_starts_make_one_trial(app, signed_in, shop):
    cookie = signed_in.get_cookie("session").value
    barrier = threading.Barrier(8)
    statuses = []

    def start():
        client = app.test_client()
        client.set_cookie("session", cookie)
        barrier.wait()
        with app.app_context():
            response = client.post("/subscriptions/trial", data={"plan_id": str(shop["crm_team"])})
            statuses.append((response.status_code, response.headers.get("Location", "").split("?")[0]))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One started (to the subscriptions list), seven refused (to the trial's page, saying why).
    assert sorted(statuses) == [(303, "/subscriptions/")] + [(303, "/subscriptions/trial")] * 7
    assert len(_subs(app)) == 1
