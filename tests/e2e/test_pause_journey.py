"""Pause and resume in Chromium, by clicking on My subscriptions: pause for one billing period, call it off,
pause again, let the lifecycle start the pause, then resume early."""

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.billing.periods import add_months
from app.billing.services import lifecycle
from app.dates import format_date
from app.extensions import db
from app.models.base import utcnow
from app.models.billing import Subscription
from tests.e2e.test_billing_journeys import browser_sign_in
from tests.factories import PlanFactory, ProductFactory, SubscriptionFactory

pytestmark = pytest.mark.e2e

SOON = timedelta(seconds=8)  # the paid period ends while the test runs, so the lifecycle can start the pause


@pytest.fixture
def ending_soon(app, user):
    with app.app_context():
        plan = PlanFactory(product=ProductFactory(name="Pipeline CRM"))
        now = utcnow()
        sub = SubscriptionFactory(
            user_id=user.id,
            plan=plan,
            started_at=now - timedelta(days=30),
            current_period_start=now - timedelta(days=30),
            current_period_end=now + SOON,
        )
        db.session.commit()
        return sub.id, sub.current_period_end


def _status(app, sid) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Subscription.status).where(Subscription.id == sid)) or ""


def test_pause_for_one_cycle_call_it_off_pause_again_and_resume_early(
    app, live_server, page, user, ending_soon, screenshot
):
    sid, period_end = ending_soon
    browser_sign_in(app, page, live_server, user)
    page.goto(live_server.url("/subscriptions/"))
    card = page.locator(f"#sub-{sid}")

    def pause_one_cycle(shot: str | None = None) -> None:
        card.get_by_text("Pause…").click()
        card.get_by_label("Pause for").select_option("1")
        if shot:
            screenshot(shot)
        card.get_by_role("button", name="Pause Pipeline CRM").click()

    resumes = format_date(add_months(period_end, 1))
    pause_one_cycle("pause-panel")
    notice = page.locator(f"#sub-{sid} [role=status]")
    expect(notice).to_contain_text(f"Pipeline CRM will pause on {format_date(period_end)}")
    expect(notice).to_contain_text(f"resume by itself on {resumes}")
    expect(card).to_contain_text(re.compile(rf"Pauses on\s*{format_date(period_end)}"))
    screenshot("pause-scheduled")

    page.locator(f"#sub-{sid}").get_by_role("button", name="Don't pause").click()
    expect(page.locator(f"#sub-{sid} [role=status]")).to_contain_text("The pause is called off.")

    pause_one_cycle()
    expect(page.locator(f"#sub-{sid} [role=status]")).to_contain_text("will pause on")
    # The paid period ends; the lifecycle run (the scheduler's, here in-process) starts the pause.
    time.sleep(max(0.0, (period_end - utcnow()).total_seconds()) + 0.5)
    with app.app_context():
        report = lifecycle.run()
        db.session.remove()
    assert report["pauses started"] == 1 and _status(app, sid) == "paused"

    page.reload()
    card = page.locator(f"#sub-{sid}")
    expect(card).to_contain_text(re.compile(rf"Paused until\s*{resumes}"))
    expect(card).to_contain_text(re.compile(r"Access\s*None while paused"))
    card.get_by_role("button", name="Resume now").click()
    expect(page.locator(f"#sub-{sid} [role=status]")).to_contain_text("Pipeline CRM is running again.")
    expect(page.locator(f"#sub-{sid}")).to_contain_text("Active")
    screenshot("pause-resumed")
    assert _status(app, sid) == "active"
