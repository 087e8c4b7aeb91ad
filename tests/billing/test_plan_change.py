"""Changing plan over HTTP: the preview, then exactly what it showed — upgrades charged now, downgrades scheduled
(or credited at once), cycle changes starting a new period — and what each route refuses."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.billing import credit
from app.billing.proration import prorate
from app.billing.services import lifecycle
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, PlanChange, Subscription, Transaction
from app.models.catalog import Plan, Product
from app.models.credit import CreditEntry
from app.models.notification import Notification
from app.models.outbox import OutboxMessage
from app.models.user import User
from tests.factories import PlanFactory, SubscriptionFactory
from tests.support.checkout import CARD_DECLINED, held_subscription, hidden, save_card
from tests.support.users import make_user

ZERO = "00000000-0000-4000-8000-000000000000"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def held(app, user, shop):
    """`user` on CRM Team ($49.00 a month), 10 days into a 30-day period, with a card on file."""
    with app.app_context():
        return held_subscription(user.id, shop["crm_team"])


def preview_form(client, sub_id, plan_id, status=200):
    response = client.get(f"/subscriptions/{sub_id}/change?plan={plan_id}")
    assert response.status_code == status, text(response)
    html = text(response)
    return html, {name: hidden(html, name) for name in ("plan_id", "idempotency_key", "fingerprint", "previewed_at")}


def _sub(app, sub_id) -> Subscription:
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        db.session.expunge(sub)
        return sub


def _emails(app, template):
    with app.app_context():
        return [
            m.args[0]
            for m in db.session.scalars(sa.select(OutboxMessage))
            if m.func == "jobs.email.send_email" and m.args[0].get("template") == template
        ]


def test_the_preview_shows_the_credit_the_charge_the_fee_the_amount_due_and_the_next_renewal(
    app, signed_in, held, shop
):
    html, form = preview_form(signed_in, held, shop["crm_pro"])
    with app.app_context():
        sub = db.session.get(Subscription, held)
        p = prorate(
            at=datetime.fromisoformat(form["previewed_at"]),
            period_start=sub.current_period_start,
            period_end=sub.current_period_end,
            paid=4900,
            new_net=9900,
            old_cycle="monthly",
            new_cycle="monthly",
            fee_percent=Decimal("10"),
        )
    assert p.credit > 0 and p.charge > p.credit
    assert f"-${p.credit / 100:,.2f}" in html
    assert f"${p.charge / 100:,.2f}" in html
    assert "Platform fee (10%)" in html and f"${p.fee / 100:,.2f}" in html
    assert "Amount due now" in html and f"Pay ${p.due_now / 100:,.2f} and switch" in html
    assert "$108.90" in html  # the next renewal on Pro: 99.00 + 10 % fee
    with app.app_context():  # a GET writes nothing
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 0


def test_an_upgrade_is_charged_now_on_a_proration_invoice_and_switches_the_plan(app, signed_in, held, shop, gateway):
    _, form = preview_form(signed_in, held, shop["crm_pro"])
    response = signed_in.post(f"/subscriptions/{held}/change", data=form)
    assert response.status_code == 303, text(response)
    page = text(signed_in.get("/subscriptions/"))
    assert "Pipeline CRM is now on Pro." in page and "Pro plan" in page
    assert _sub(app, held).plan_id == shop["crm_pro"]
    with app.app_context():
        invoice = db.session.scalars(
            sa.select(Invoice).where(Invoice.subscription_id == held, Invoice.kind == "invoice")
        ).one()
        change = db.session.scalars(sa.select(PlanChange)).one()
        tx = db.session.get(Transaction, change.transaction_id)
        assert invoice.status == "paid" and invoice.total == change.total > 0
        assert tx.status == "succeeded" and tx.purpose == "plan_change" and tx.amount == invoice.total
        assert change.status == "applied"
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
        assert {"subscription.plan_change_charging", "subscription.plan_changed"} <= actions
        kinds = set(db.session.scalars(sa.select(Notification.kind)))
        assert {"plan_changed", "payment_receipt"} <= kinds
    assert [c["amount"] for c in gateway.charges()] == [change.total]
    assert _emails(app, "plan_changed")[0]["context"]["plan_name"] == "Pro"
    invoice_page = text(signed_in.get(f"/invoices/{invoice.id}"))
    assert "Remaining time on Pro" in invoice_page and "Unused time on Team" in invoice_page


def test_the_proration_invoice_lines_add_up_to_its_total(app, signed_in, held, shop):
    _, form = preview_form(signed_in, held, shop["crm_pro"])
    signed_in.post(f"/subscriptions/{held}/change", data=form)
    with app.app_context():
        invoice = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == held)).one()
        amounts = db.session.execute(
            sa.text("SELECT kind, amount FROM invoice_line WHERE invoice_id = :i ORDER BY position"), {"i": invoice.id}
        ).all()
        assert [k for k, _ in amounts] == ["proration", "proration", "fee"]
        assert sum(a for _, a in amounts) == invoice.total
        assert amounts[1][1] < 0  # the credit for the unused time


def test_submitting_the_same_preview_twice_applies_it_once(app, signed_in, held, shop, gateway):
    _, form = preview_form(signed_in, held, shop["crm_pro"])
    first = signed_in.post(f"/subscriptions/{held}/change", data=form)
    second = signed_in.post(f"/subscriptions/{held}/change", data=form)
    assert first.status_code == second.status_code == 303
    assert len(gateway.charges()) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 1


def test_a_declined_card_changes_nothing_and_says_why(app, signed_in, user, held, shop):
    with app.app_context():
        save_card(db.session.get(User, user.id), CARD_DECLINED)  # replaces the default card
    _, form = preview_form(signed_in, held, shop["crm_pro"])
    response = signed_in.post(f"/subscriptions/{held}/change", data=form)
    assert response.status_code == 402
    assert "Your plan was not changed" in text(response) and "declined" in text(response)
    assert _sub(app, held).plan_id == shop["crm_team"]
    with app.app_context():
        change = db.session.scalars(sa.select(PlanChange)).one()
        assert change.status == "declined"
        assert db.session.get(Invoice, change.invoice_id).status == "void"


def test_a_price_change_after_the_preview_shows_the_new_preview_instead(app, signed_in, held, shop, gateway):
    _, form = preview_form(signed_in, held, shop["crm_pro"])
    with app.app_context():
        db.session.get(Plan, shop["crm_pro"]).price = 12900
        db.session.commit()
    response = signed_in.post(f"/subscriptions/{held}/change", data=form)
    assert response.status_code == 409
    assert "prices or your subscription changed" in text(response)
    assert "$141.90" in text(response)  # the new renewal: 129.00 + 10 %
    assert hidden(text(response), "fingerprint") != form["fingerprint"]
    assert gateway.charges() == [] and _sub(app, held).plan_id == shop["crm_team"]


def test_a_downgrade_is_scheduled_for_the_period_end_can_be_cancelled_and_is_applied_at_renewal(
    app, signed_in, user, shop, gateway
):
    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_pro"], days_in=5)
    html, form = preview_form(signed_in, sub_id, shop["crm_team"])
    assert "Schedule the switch" in html and "Due now" in html
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=form).status_code == 303
    page = text(signed_in.get("/subscriptions/"))
    assert "Switches to Team on" in page and "Cancel the switch to Team" in page
    assert _sub(app, sub_id).plan_id == shop["crm_pro"] and gateway.charges() == []
    assert _emails(app, "plan_changed")[0]["context"]["scheduled"] is True

    signed_in.post(f"/subscriptions/{sub_id}/change/cancel", data={})
    assert "Switches to Team" not in text(signed_in.get("/subscriptions/"))

    _, form = preview_form(signed_in, sub_id, shop["crm_team"])  # schedule it again, then renew
    signed_in.post(f"/subscriptions/{sub_id}/change", data=form)
    end = _sub(app, sub_id).current_period_end
    with app.app_context():
        report = lifecycle.run(end + timedelta(minutes=1))
        assert report["scheduled plan changes applied"] == 1
        sub = db.session.get(Subscription, sub_id)
        renewal = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id)).one()
        assert sub.plan_id == shop["crm_team"] and renewal.total == 5390  # Team 49.00 + 10 %
        assert renewal.status == "paid" and sub.current_period_start == end


def test_a_product_set_to_downgrade_at_once_switches_now_and_credits_the_unused_time(app, signed_in, user, shop):
    with app.app_context():
        db.session.get(Product, shop["crm"]).downgrade_timing = "now"
        sub_id = held_subscription(user.id, shop["crm_pro"], days_in=5)
    html, form = preview_form(signed_in, sub_id, shop["crm_team"])
    assert "Credited to your credit balance" in html and "Switch now" in html
    response = signed_in.post(f"/subscriptions/{sub_id}/change", data=form)
    assert response.status_code == 303
    assert "is in your credit balance" in text(signed_in.get("/subscriptions/"))
    assert _sub(app, sub_id).plan_id == shop["crm_team"]
    with app.app_context():
        note = db.session.scalars(sa.select(Invoice).where(Invoice.kind == "credit_note")).one()
        change = db.session.scalars(sa.select(PlanChange)).one()
        assert note.total == -change.total > 0 and note.number.startswith("CN") and note.status == "paid"
        entry = db.session.scalars(sa.select(CreditEntry)).one()
        assert (entry.source, entry.amount, entry.credit_note_id) == ("downgrade", note.total, note.id)
        assert credit.balance_of(user.id, "USD") == note.total


def test_a_cycle_change_starts_a_new_period_now_with_the_credit_applied(app, signed_in, held, shop, gateway):
    with app.app_context():
        yearly = PlanFactory(product_id=shop["crm"], name="Team yearly", billing_cycle="yearly", price=49000).id
    _, form = preview_form(signed_in, held, yearly)
    assert signed_in.post(f"/subscriptions/{held}/change", data=form).status_code == 303
    sub = _sub(app, held)
    assert sub.plan_id == yearly
    assert abs((sub.current_period_start - utcnow()).total_seconds()) < 120
    assert (sub.current_period_end - sub.current_period_start).days in (365, 366)
    with app.app_context():
        change = db.session.scalars(sa.select(PlanChange)).one()
        assert change.charge == 49000 and 0 < change.credit < 4900
        assert gateway.charges()[0]["amount"] == change.total


def test_another_users_subscription_is_not_found(app, signed_in, shop):
    with app.app_context():
        other = make_user(username="grace")
        sub_id = SubscriptionFactory(user_id=other.id, plan_id=shop["crm_team"]).id
    assert signed_in.get(f"/subscriptions/{sub_id}/change").status_code == 404
    assert signed_in.get(f"/subscriptions/{sub_id}/change?plan={shop['crm_pro']}").status_code == 404
    posted = {"plan_id": str(shop["crm_pro"]), "idempotency_key": "k" * 24, "fingerprint": "x", "previewed_at": ""}
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=posted).status_code == 404
    assert signed_in.post(f"/subscriptions/{sub_id}/change/cancel").status_code == 404
    assert signed_in.get("/subscriptions/not-an-id/change").status_code == 404
    assert _sub(app, sub_id).plan_id == shop["crm_team"]


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ("crm_team", "You are already on the Team plan."),
        ("analytics_yearly", "That plan is not a plan of Pipeline CRM"),
        (ZERO, "Choose one of the plans listed."),
        ("not-a-uuid", "That plan doesn&#39;t exist."),
    ],
)
def test_a_plan_that_cannot_be_chosen_is_refused_with_a_message(app, signed_in, held, shop, plan, message):
    plan_id = shop.get(plan, plan)
    response = signed_in.get(f"/subscriptions/{held}/change?plan={plan_id}")
    assert response.status_code == 400 and message in text(response)
    posted = {"plan_id": str(plan_id), "idempotency_key": "k" * 24, "fingerprint": "x", "previewed_at": ""}
    response = signed_in.post(f"/subscriptions/{held}/change", data=posted)
    assert response.status_code == 400 and message in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanChange)) == 0


def test_a_forged_or_stale_preview_is_previewed_again_and_charges_nothing(app, signed_in, held, shop, gateway):
    _, form = preview_form(signed_in, held, shop["crm_pro"])
    earlier = (utcnow() - timedelta(hours=2)).replace(microsecond=0).isoformat()
    for changed, message in (
        ({"fingerprint": "0" * 64}, "prices or your subscription changed"),
        ({"previewed_at": earlier}, "This preview is out of date"),
        ({"previewed_at": "yesterday"}, "This preview is out of date"),
    ):
        response = signed_in.post(f"/subscriptions/{held}/change", data={**form, **changed})
        assert response.status_code == 409 and message in text(response), changed
    bad_key = signed_in.post(f"/subscriptions/{held}/change", data={**form, "idempotency_key": "short"})
    assert bad_key.status_code == 400
    assert gateway.charges() == [] and _sub(app, held).plan_id == shop["crm_team"]


def test_my_subscriptions_and_the_product_page_offer_the_switch(app, signed_in, held, shop):
    page = text(signed_in.get("/subscriptions/"))
    assert f'href="/subscriptions/{held}/change"' in page and "Change plan" in page
    choices = text(signed_in.get(f"/subscriptions/{held}/change"))
    assert f"/subscriptions/{held}/change?plan={shop['crm_pro']}" in choices
    with app.app_context():
        slug = db.session.get(Product, shop["crm"]).slug
    product_page = text(signed_in.get(f"/products/{slug}"))
    assert "Switch to this plan" in product_page
    assert f"/subscriptions/{held}/change?plan={shop['crm_pro']}" in product_page


def test_a_trial_switches_at_once_for_free_and_keeps_its_end(app, signed_in, user, shop, gateway):
    with app.app_context():
        trial_end = utcnow().replace(microsecond=0) + timedelta(days=7)
        sub_id = SubscriptionFactory(
            user_id=user.id, plan_id=shop["crm_team"], status="trial", trial_end=trial_end, current_period_end=trial_end
        ).id
    html, form = preview_form(signed_in, sub_id, shop["crm_pro"])
    assert "free trial: the switch is free" in html and "Switch now" in html
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=form).status_code == 303
    sub = _sub(app, sub_id)
    assert sub.plan_id == shop["crm_pro"] and sub.trial_end == trial_end and sub.status == "trial"
    assert gateway.charges() == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 0


def test_a_subscription_whose_payment_failed_or_that_is_ending_cannot_change_plan_and_says_why(
    app, signed_in, held, shop
):
    with app.app_context():
        db.session.get(Subscription, held).status = "past_due"
        db.session.commit()
    response = signed_in.get(f"/subscriptions/{held}/change?plan={shop['crm_pro']}")
    assert response.status_code == 409 and "update your card before changing plan" in text(response)
    with app.app_context():
        sub = db.session.get(Subscription, held)
        sub.status, sub.cancel_at_period_end = "active", True
        db.session.commit()
    response = signed_in.get(f"/subscriptions/{held}/change?plan={shop['crm_pro']}")
    assert response.status_code == 409 and "Keep my subscription" in text(response)


def test_an_upgrade_spends_the_credit_balance_first_and_charges_the_card_the_rest(app, signed_in, held, shop, gateway):
    with app.app_context():
        credit.add_credit(db.session.get(Subscription, held).user_id, "USD", 1000, "adjustment", reason="Goodwill")
        db.session.commit()
    html, form = preview_form(signed_in, held, shop["crm_pro"])
    assert "Paid from your credit balance" in html and "−$10.00" in html
    assert signed_in.post(f"/subscriptions/{held}/change", data=form).status_code == 303
    with app.app_context():
        change = db.session.scalars(sa.select(PlanChange)).one()
        invoice = db.session.get(Invoice, change.invoice_id)
        assert f"Pay ${(change.total - 1000) / 100:,.2f} and switch" in html
        assert (invoice.status, invoice.credit_applied) == ("paid", 1000) and change.status == "applied"
        assert credit.balance_of(invoice.user_id, "USD") == 0
    assert [c["amount"] for c in gateway.charges()] == [change.total - 1000]


def test_an_upgrade_the_credit_balance_covers_switches_with_no_card_charge(app, signed_in, held, shop, gateway):
    with app.app_context():
        credit.add_credit(db.session.get(Subscription, held).user_id, "USD", 100000, "adjustment", reason="Goodwill")
        db.session.commit()
    html, form = preview_form(signed_in, held, shop["crm_pro"])
    assert "Pay from my credit balance and switch" in html and "Your card on file" not in html
    assert signed_in.post(f"/subscriptions/{held}/change", data=form).status_code == 303
    assert _sub(app, held).plan_id == shop["crm_pro"] and gateway.charges() == []
    with app.app_context():
        change = db.session.scalars(sa.select(PlanChange)).one()
        invoice = db.session.get(Invoice, change.invoice_id)
        assert (invoice.status, invoice.credit_applied, invoice.transaction_id) == ("paid", change.total, None)
        assert credit.balance_of(invoice.user_id, "USD") == 100000 - change.total


def test_a_declined_upgrade_gives_the_credit_it_spent_back(app, signed_in, user, shop, gateway):
    with app.app_context():
        sub_id = held_subscription(user.id, shop["crm_team"], card=False)
        save_card(db.session.get(User, user.id), CARD_DECLINED)
        credit.add_credit(user.id, "USD", 500, "adjustment", reason="Goodwill")
        db.session.commit()
    _, form = preview_form(signed_in, sub_id, shop["crm_pro"])
    assert signed_in.post(f"/subscriptions/{sub_id}/change", data=form).status_code == 402
    with app.app_context():
        assert credit.balance_of(user.id, "USD") == 500
        invoice = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == sub_id)).one()
        assert (invoice.status, invoice.credit_applied) == ("void", 0)
