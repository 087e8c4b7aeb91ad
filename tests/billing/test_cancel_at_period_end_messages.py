"""Cancel at period end, its end and resume: the page, the notification and the email say the same thing."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.billing.services import lifecycle
from app.dates import format_date
from app.extensions import db
from app.models.billing import Subscription
from app.models.catalog import Plan
from app.models.notification import Notification
from app.models.user import User
from tests.factories import SubscriptionFactory

HX = {"HX-Request": "true"}


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


@pytest.fixture
def sub(app, signed_in, user, shop):
    with app.app_context():
        made = SubscriptionFactory(user=db.session.get(User, user.id), plan=db.session.get(Plan, shop["crm_team"]))
        db.session.commit()
        return made.id, format_date(made.current_period_end)


def _notifications(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Notification).order_by(Notification.created_at))
        return [(n.kind, n.title, n.body) for n in rows]


def _mail(smtp_sink, run_jobs, count: int):
    run_jobs()
    return [(m["Subject"], smtp_sink.text(m)) for m in smtp_sink.wait_for(count)]


def test_cancel_at_period_end_says_it_will_end_on_the_date_everywhere(app, signed_in, sub, smtp_sink, run_jobs):
    sub_id, ends_on = sub
    page = text(signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "period_end"}, headers=HX))
    assert f"Pipeline CRM will end on {ends_on}. You keep access until then." in page
    assert f"Ends on {ends_on}" in page and "Auto-renew off" in page
    assert "Auto-renew on" not in page and "Next renewal" not in page and "is cancelled" not in page
    assert _notifications(app) == [
        (
            "subscription_ending",
            f"Pipeline CRM will end on {ends_on}",
            "You keep access until then and won't be charged again.",
        )
    ]
    [(subject, body)] = _mail(smtp_sink, run_jobs, 1)
    assert subject == f"Your Pipeline CRM subscription will end on {ends_on}"
    assert f"Pipeline CRM will end on {ends_on}." in body and "cancelled" not in body
    # The list page shows the same one state.
    listing = text(signed_in.get("/subscriptions/"))
    assert f"Ends on {ends_on}" in listing and "Auto-renew off" in listing and "Auto-renew on" not in listing


def test_resume_says_it_is_resumed_and_renews_on_the_date_everywhere(app, signed_in, sub, smtp_sink, run_jobs):
    sub_id, renews_on = sub
    signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "period_end"}, headers=HX)
    page = text(signed_in.post(f"/subscriptions/{sub_id}/resume", headers=HX))
    assert f"Pipeline CRM is resumed. It renews on {renews_on}." in page
    assert "Auto-renew on" in page and f"Next renewal {renews_on}" in page and "Ends on" not in page
    assert _notifications(app)[-1] == ("subscription_resumed", "Pipeline CRM is resumed", f"It renews on {renews_on}.")
    subjects = [subject for subject, _ in _mail(smtp_sink, run_jobs, 2)]
    assert subjects == [
        f"Your Pipeline CRM subscription will end on {renews_on}",
        "Your Pipeline CRM subscription is resumed",
    ]
    assert f"It renews on {renews_on} as usual." in smtp_sink.text(smtp_sink.messages[-1])
    with app.app_context():
        row = db.session.get(Subscription, sub_id)
        assert row.cancel_at_period_end is False and row.auto_renew is True


def test_when_the_period_ends_the_lifecycle_run_says_it_has_ended_everywhere(app, signed_in, sub, smtp_sink, run_jobs):
    sub_id, _ = sub
    signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "period_end"}, headers=HX)
    with app.app_context():
        end = db.session.get(Subscription, sub_id).current_period_end
        assert lifecycle.run(now=end + timedelta(minutes=5))["cancelled at period end"] == 1
    ended_on = format_date(end + timedelta(minutes=5))
    assert _notifications(app)[-1] == (
        "subscription_ended",
        "Pipeline CRM has ended",
        f"Your subscription ended on {ended_on}. You won't be charged again.",
    )
    subjects = [subject for subject, _ in _mail(smtp_sink, run_jobs, 2)]
    assert subjects[-1] == "Your Pipeline CRM subscription has ended"
    assert f"Pipeline CRM has ended. Your subscription ended on {ended_on}" in smtp_sink.text(smtp_sink.messages[-1])
    page = text(signed_in.get("/subscriptions/"))
    assert f"Ended on {ended_on}" in page and "Auto-renew" not in page


def test_cancel_now_still_says_it_is_cancelled_everywhere(app, signed_in, sub, smtp_sink, run_jobs):
    sub_id, _ = sub
    page = text(signed_in.post(f"/subscriptions/{sub_id}/cancel", data={"when": "now"}, headers=HX))
    assert "Pipeline CRM is cancelled." in page and "will end on" not in page
    [(kind, title, _)] = _notifications(app)
    assert (kind, title) == ("subscription_cancelled", "Pipeline CRM is cancelled")
    [(subject, body)] = _mail(smtp_sink, run_jobs, 1)
    assert subject == "Your Pipeline CRM subscription is cancelled" and "is cancelled" in body
