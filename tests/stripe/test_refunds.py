"""Refunds from the admin invoice page with Stripe as the gateway, against a real localstripe.

The invoice is paid by a real PaymentIntent at localstripe (a card confirmed through a SetupIntent, charged
with our metadata). Each refund is a Stripe Refund of the typed amount on that PaymentIntent, read back from
the emulator. localstripe 1.15.10 does not refuse a refund larger than what is left of the charge (it never
checks `amount_refunded`); what it does refuse is a refund of a failed payment, which is how these tests make
Stripe say no: our side believes the charge succeeded, Stripe holds it as declined (a mismatch).
"""

import html
import http.server
import json
import re
import threading
import uuid

import pytest
import sqlalchemy as sa

from app.billing import invoices as invoice_service
from app.billing.gateway.stripe import StripeGateway
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.billing import Invoice, Transaction
from app.models.outbox import OutboxMessage
from tests.admin.conftest import client_as
from tests.factories import InvoiceFactory, PlanFactory, ProductFactory
from tests.support.mail import free_port
from tests.support.stripe_cards import saved_card
from tests.support.users import make_user

DECLINES_EVERY_CHARGE = "4000000000000341"


def _text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def paid_at_stripe(localstripe, *, number: str = "4242424242424242") -> dict:
    """Ada's $53.90 invoice, paid by a PaymentIntent at localstripe (call inside an app context of stripe_app).

    With `number` a card that declines, Stripe holds the PaymentIntent as failed while we record it paid."""
    ada = make_user(username="ada", email="ada@example.test")
    invoice = InvoiceFactory(user=ada, plan=PlanFactory(product=ProductFactory(name="Pipeline CRM")), status="open")
    card = saved_card(localstripe, ada, number)
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=ada.id,
        kind="charge",
        purpose="renewal",
        status="pending",
        amount=invoice.total,
        currency=invoice.currency,
        gateway="stripe",
        idempotency_key=f"charge:{invoice.id}",
    )
    db.session.add(tx)
    db.session.commit()
    result = StripeGateway().charge(
        amount=tx.amount,
        currency=tx.currency,
        token=card.token,
        idempotency_key=tx.idempotency_key,
        metadata={"transaction_id": str(tx.id), "user_id": str(ada.id), "invoice_ids": str(invoice.id)},
    )
    intents = localstripe.api("GET", "payment_intents")["data"]
    reference = result.reference or next(i["id"] for i in intents if i["metadata"]["transaction_id"] == str(tx.id))
    now = utcnow()
    tx.status, tx.gateway_reference, tx.settled_at = "succeeded", reference, now
    invoice_service.mark_paid(invoice, now=now, transaction_id=tx.id)
    invoice.payment_method, invoice.payment_label = "card", f"{card.brand} •••• {card.last4}"
    db.session.commit()
    return {"invoice": invoice.id, "number": invoice.number, "pi": reference, "charge": tx.id}


@pytest.fixture
def admin_client(stripe_app):
    return client_as(stripe_app, "admin", "root")


@pytest.fixture
def support_client(stripe_app):
    return client_as(stripe_app, "support", "helper")


@pytest.fixture
def customer_client(stripe_app):
    return client_as(stripe_app, "customer", "buyer")


@pytest.fixture
def paid(stripe_app, localstripe):
    localstripe.flush()
    with stripe_app.test_request_context():
        return paid_at_stripe(localstripe)


def _refunds_at_stripe(localstripe, pi: str) -> list[dict]:
    return localstripe.api("GET", "refunds", payment_intent=pi)["data"]


def _notes(app, invoice_id) -> list[Invoice]:
    with app.app_context():
        notes = db.session.scalars(
            sa.select(Invoice).where(Invoice.original_invoice_id == invoice_id).order_by(Invoice.number)
        ).all()
        db.session.expunge_all()
        return notes


def _refund(admin_client, paid, amount: str, reason: str = "Asked within 14 days", **extra):
    data = {"amount": amount, "reason": reason, **extra}
    return admin_client.post(f"/admin/invoices/{paid['invoice']}/refund", data=data)


def test_partial_refunds_reach_stripe_with_their_amounts_until_nothing_is_left(
    stripe_app, localstripe, admin_client, paid
):
    first = _refund(admin_client, paid, "5.00")
    assert first.status_code == 303
    page = _text(admin_client.get(first.headers["Location"]))
    number = re.search(r"Refunded: \$5\.00, credit note (CN-\d{4}-\d{6}) issued", page).group(1)
    assert "Amount paid $53.90 Refunded $5.00 Remaining $48.90" in page
    [refund] = _refunds_at_stripe(localstripe, paid["pi"])
    assert (refund["amount"], refund["status"], refund["currency"]) == (500, "succeeded", "usd")
    with stripe_app.app_context():
        tx = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "refund"))
        assert (tx.status, tx.amount, tx.gateway_reference, tx.parent_id) == (
            "succeeded",
            500,
            refund["id"],
            paid["charge"],
        )
        assert refund["metadata"] == {
            "idempotency_key": tx.idempotency_key,
            "transaction_id": str(tx.id),
            "reason": "Asked within 14 days",  # localstripe refuses `reason`: kept in metadata
        }
    pdf = admin_client.get(f"/admin/invoices/{_notes(stripe_app, paid['invoice'])[0].id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    second = _refund(admin_client, paid, "48.90", "The rest, goodwill")
    assert second.status_code == 303
    page = _text(admin_client.get(second.headers["Location"]))
    assert "Refunded $53.90 Remaining $0.00" in page and "No action available: refunded in full" in page
    assert sorted(r["amount"] for r in _refunds_at_stripe(localstripe, paid["pi"])) == [500, 4890]
    notes = _notes(stripe_app, paid["invoice"])
    assert [(n.number == number, n.total, n.status) for n in notes] == [(True, 500, "paid"), (False, 4890, "paid")]
    with stripe_app.app_context():
        assert db.session.get(Transaction, paid["charge"]).status == "refunded"  # all of it went back

    third = _refund(admin_client, paid, "0.01")
    assert third.status_code == 409 and "already been refunded in full" in _text(third)
    assert len(_refunds_at_stripe(localstripe, paid["pi"])) == 2 and len(_notes(stripe_app, paid["invoice"])) == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "Enter an amount above zero."),
        ("0.00", "Enter an amount above zero."),
        ("-5.00", "Enter an amount such as 5.00, at most $53.90."),
        ("53.91", "At most $53.90 is left to refund."),
        ("abc", "Enter an amount such as 5.00, at most $53.90."),
        ("5.005", "USD amounts have at most 2 decimal places."),
        ("1e3", "Enter an amount such as 5.00, at most $53.90."),
    ],
)
def test_a_bad_amount_is_refused_beside_the_field_and_nothing_changes(
    stripe_app, localstripe, admin_client, paid, amount, message
):
    response = _refund(admin_client, paid, amount)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="amount-error"' in html and message in _text(response)
    assert _refunds_at_stripe(localstripe, paid["pi"]) == [] and _notes(stripe_app, paid["invoice"]) == []
    with stripe_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 1
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.refund")) is None


def test_the_same_form_submitted_twice_refunds_once(stripe_app, localstripe, admin_client, paid):
    key = str(uuid.uuid4())
    assert _refund(admin_client, paid, "5.00", key=key).status_code == 303
    again = _refund(admin_client, paid, "5.00", key=key)
    assert again.status_code == 303
    assert [r["amount"] for r in _refunds_at_stripe(localstripe, paid["pi"])] == [500]
    assert len(_notes(stripe_app, paid["invoice"])) == 1


def test_a_refund_stripe_refuses_shows_its_message_and_changes_nothing_here(stripe_app, localstripe, admin_client):
    localstripe.flush()
    with stripe_app.test_request_context():
        paid = paid_at_stripe(localstripe, number=DECLINES_EVERY_CHARGE)  # declined at Stripe, paid here
    key = str(uuid.uuid4())
    response = _refund(admin_client, paid, "5.00", key=key)
    assert response.status_code == 409
    # The form comes back with a fresh key: a corrected submit is a refund of its own, not this refused one.
    assert key not in response.get_data(as_text=True) and 'name="key" type="hidden" value="' in response.get_data(
        as_text=True
    )
    text = _text(response)
    assert "Stripe refused the refund: Cannot refund a failed payment. Nothing was refunded." in text
    assert 'id="amount-error"' in response.get_data(as_text=True)
    assert "Remaining $53.90" in text and "Refund pending" not in text
    assert _refunds_at_stripe(localstripe, paid["pi"]) == []
    assert _notes(stripe_app, paid["invoice"]) == []  # the draft credit note was withdrawn, never numbered
    with stripe_app.app_context():
        refund = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "refund"))
        assert (refund.status, refund.failure_message) == ("failed", "Cannot refund a failed payment.")
        assert db.session.get(Transaction, paid["charge"]).status == "succeeded"
        assert db.session.get(Invoice, paid["invoice"]).status == "paid"
        numbers = db.session.scalars(sa.select(Invoice.number).where(Invoice.kind == "credit_note")).all()
        assert numbers == []
        refused = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.refund_refused"))
        assert refused.actor_id == admin_client.user_id
        assert (refused.after["by"], refused.after["message"]) == ("Stripe", "Cannot refund a failed payment.")


def test_stripe_unreachable_the_page_says_so_and_nothing_is_refunded(stripe_app, localstripe, admin_client, paid):
    stripe_app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    response = _refund(admin_client, paid, "5.00")
    assert response.status_code == 502
    text = _text(response)
    assert "Stripe didn't answer. Nothing is refunded yet" in text and 'id="amount-error"' in response.get_data(
        as_text=True
    )
    assert "Refunded $0.00" in text and "Refund pending $5.00" in text and "Remaining $48.90" in text
    with stripe_app.app_context():
        refund = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "refund"))
        assert (refund.status, refund.gateway_reference) == ("pending", None)
        assert [n.status for n in _notes(stripe_app, paid["invoice"])] == ["draft"]  # no number: no money went back
        job = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.func == "jobs.billing.send_refund"))
        assert job is not None and job.args == [str(refund.id)]
        refund_id = refund.id
    assert _refunds_at_stripe(localstripe, paid["pi"]) == []

    # Stripe is back: the queued job sends it once, and a second run finds it sent.
    stripe_app.config["STRIPE_API_BASE"] = localstripe.base
    from jobs.billing import send_refund

    with stripe_app.app_context():
        assert send_refund(str(refund_id)) == "sent"
        assert send_refund(str(refund_id)) == "nothing to do"
        assert db.session.get(Transaction, refund_id).status == "succeeded"
    assert [r["amount"] for r in _refunds_at_stripe(localstripe, paid["pi"])] == [500]
    [note] = _notes(stripe_app, paid["invoice"])
    assert note.status == "paid" and note.number.startswith("CN-")


def test_a_refund_sent_whose_answer_was_lost_is_found_at_stripe_not_sent_again(
    stripe_app, localstripe, admin_client, paid
):
    """localstripe ignores Idempotency-Key: the retry must find the first refund by its metadata."""
    assert _refund(admin_client, paid, "5.00").status_code == 303
    with stripe_app.app_context():
        refund = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "refund"))
        refund.status, refund.gateway_reference, refund.settled_at = "pending", None, None  # as if the answer was lost
        db.session.commit()
        from jobs.billing import send_refund

        assert send_refund(str(refund.id)) == "sent"
        assert db.session.get(Transaction, refund.id).status == "succeeded"
    assert [r["amount"] for r in _refunds_at_stripe(localstripe, paid["pi"])] == [500]


def test_refunding_needs_the_refund_permission(stripe_app, localstripe, paid, support_client, customer_client):
    assert _refund(support_client, paid, "5.00").status_code == 403
    assert _refund(customer_client, paid, "5.00").status_code == 404
    assert _refunds_at_stripe(localstripe, paid["pi"]) == []


class _Outage(http.server.BaseHTTPRequestHandler):
    """Stripe having a bad minute: every request answered with the server's status, in Stripe's error shape."""

    def _answer(self) -> None:
        self.server.requests.append((self.command, self.path))
        body = json.dumps({"error": {"type": "api_error", "message": "Stripe is having a bad minute."}}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def outage():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Outage)
    server.requests, server.status = [], 503
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=5)


@pytest.mark.parametrize(("status", "tries"), [(503, 3), (500, 3), (429, 1)])
def test_stripe_answering_5xx_or_429_is_retried_by_the_sdk_then_said_and_nothing_is_refunded(
    stripe_app, localstripe, admin_client, paid, outage, status, tries
):
    """5xx: the SDK tries 1 + max_network_retries (2) times; 429 without Stripe-Should-Retry: once."""
    outage.status = status
    stripe_app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{outage.server_port}"
    response = _refund(admin_client, paid, "5.00")
    assert response.status_code == 502 and "Stripe didn't answer. Nothing is refunded yet" in _text(response)
    assert len(outage.requests) == tries and len(set(outage.requests)) == 1  # the same call, retried
    assert _refunds_at_stripe(localstripe, paid["pi"]) == []
    with stripe_app.app_context():
        refund = db.session.scalar(sa.select(Transaction).where(Transaction.kind == "refund"))
        assert (refund.status, refund.gateway_reference) == ("pending", None)
