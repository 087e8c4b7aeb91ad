"""The Stripe adapter against a real localstripe: customers, SetupIntents, charges, refunds, lookups.

Nothing is mocked: the official SDK talks HTTP to the emulator, and what Stripe holds is read
back from it (`localstripe.api`). Where localstripe lacks a behaviour, the test says so.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.billing.gateway import GatewayUnavailable, get_gateway
from app.billing.gateway.sandbox import SandboxGateway
from app.billing.gateway.stripe import StripeGateway
from app.errors import NotFound, PaymentDeclined
from app.extensions import db
from app.models.billing import PaymentCustomer, Transaction
from app.models.user import User
from tests.support.mail import free_port
from tests.support.stripe_cards import authenticate_payment, confirm_setup, saved_card
from tests.support.users import make_user


@pytest.fixture
def ctx(stripe_app, localstripe):
    localstripe.flush()  # a test without stripe_app may have left objects there
    with stripe_app.test_request_context():
        yield stripe_app


@pytest.fixture
def buyer(ctx):
    return make_user(username="ada", first_name="Ada", last_name="Lovelace")


def _pending_tx(user: User, key: str, *, kind: str = "charge", reference: str | None = None) -> Transaction:
    tx = Transaction(
        user_id=user.id,
        kind=kind,
        purpose="refund" if kind == "refund" else "checkout",
        status="pending",
        amount=2500,
        currency="EUR",
        gateway="stripe",
        gateway_reference=reference,
        idempotency_key=key,
    )
    db.session.add(tx)
    db.session.commit()
    return tx


def _charge(user: User, token: str, key: str, **kwargs):
    metadata = {"transaction_id": str(uuid.uuid4()), "user_id": str(user.id), "attempt_id": "att-1"}
    return StripeGateway().charge(
        amount=2500, currency="EUR", token=token, idempotency_key=key, metadata=metadata, **kwargs
    )


def test_get_gateway_answers_the_stripe_adapter_when_selected_and_the_sandbox_otherwise(app, localstripe):
    with app.test_request_context():
        assert isinstance(get_gateway(), SandboxGateway)
        app.config.update(PAYMENT_GATEWAY="stripe", STRIPE_SECRET_KEY="sk_test_x", STRIPE_API_BASE=localstripe.base)
        gateway = get_gateway()
        assert isinstance(gateway, StripeGateway) and gateway.name == "stripe" and gateway.collects_card_in_browser


def test_a_users_customer_is_created_on_first_need_stored_and_reused(ctx, buyer, localstripe):
    gateway = StripeGateway()
    assert gateway.stored_customer(buyer.id) is None
    assert localstripe.api("GET", "customers")["data"] == []
    first = gateway.customer_id(buyer)
    assert first.startswith("cus_") and gateway.customer_id(buyer) == first
    customers = localstripe.api("GET", "customers")["data"]
    assert [c["id"] for c in customers] == [first]
    assert customers[0]["email"] == buyer.email and customers[0]["metadata"] == {"user_id": str(buyer.id)}
    stored = db.session.scalars(sa.select(PaymentCustomer)).all()
    assert [(row.user_id, row.gateway, row.customer_id) for row in stored] == [(buyer.id, "stripe", first)]


@pytest.mark.postgres
def test_racing_requests_for_one_users_customer_end_with_one_customer_here_and_at_stripe(ctx, buyer, localstripe):
    user_id, count = buyer.id, 6
    barrier = threading.Barrier(count)

    def work(_):
        with ctx.test_request_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            return StripeGateway().customer_id(user)

    with ThreadPoolExecutor(max_workers=count) as pool:
        ids = set(pool.map(work, range(count)))
    assert len(ids) == 1
    # localstripe ignores Idempotency-Key, so every racer created one: the losers deleted theirs.
    assert [c["id"] for c in localstripe.api("GET", "customers")["data"]] == list(ids)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentCustomer)) == 1


def test_a_setup_intent_is_for_the_users_customer_and_for_off_session_use(ctx, buyer, localstripe):
    setup = StripeGateway().create_setup(buyer)
    assert setup.id.startswith("seti_") and setup.client_secret.startswith(f"{setup.id}_secret_")
    held = localstripe.api("GET", f"setup_intents/{setup.id}")
    assert held["customer"] == StripeGateway().stored_customer(buyer.id)
    assert held["usage"] == "off_session" and held["status"] == "requires_payment_method"


def test_the_card_confirmed_in_the_browser_is_attached_to_the_customer_and_described_from_stripe(
    ctx, buyer, localstripe
):
    card = saved_card(localstripe, buyer, "4242424242424242")
    assert card.token.startswith("pm_")
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("Visa", "4242", 12, 2034)
    method = localstripe.api("GET", f"payment_methods/{card.token}")
    assert method["customer"] == StripeGateway().stored_customer(buyer.id)


def test_a_card_that_needs_3d_secure_is_saved_once_the_customer_authenticates(ctx, buyer, localstripe):
    gateway = StripeGateway()
    setup = gateway.create_setup(buyer)
    assert confirm_setup(localstripe, setup.client_secret, "4000002500003155")["status"] == "succeeded"
    assert gateway.card_from_setup(setup.id, buyer).last4 == "3155"


def test_a_setup_intent_not_confirmed_or_declined_gives_no_card(ctx, buyer, localstripe):
    gateway = StripeGateway()
    unconfirmed = gateway.create_setup(buyer)
    with pytest.raises(PaymentDeclined):
        gateway.card_from_setup(unconfirmed.id, buyer)
    declined = gateway.create_setup(buyer)
    answer = confirm_setup(localstripe, declined.client_secret, "4000000000000002")
    assert answer["error"]["code"] == "card_declined"
    with pytest.raises(PaymentDeclined):
        gateway.card_from_setup(declined.id, buyer)
    unauthenticated = gateway.create_setup(buyer)
    confirm_setup(localstripe, unauthenticated.client_secret, "4000002500003155", authenticate=False)
    with pytest.raises(PaymentDeclined):
        gateway.card_from_setup(unauthenticated.id, buyer)


def test_another_users_setup_intent_or_a_made_up_id_is_not_found(ctx, buyer, localstripe):
    other = make_user(username="mallory")
    gateway = StripeGateway()
    theirs = gateway.create_setup(other)
    confirm_setup(localstripe, theirs.client_secret, "4242424242424242")
    gateway.customer_id(buyer)
    for setup_id in (theirs.id, "seti_doesnotexist", "pm_123", "", "seti_" + "x" * 300):
        with pytest.raises(NotFound):
            gateway.card_from_setup(setup_id, buyer)


def test_a_charge_is_one_confirmed_payment_intent_on_the_customer_with_our_key_and_metadata(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer)
    result = _charge(buyer, card.token, "checkout:key-1", description="Checkout att-1")
    assert result.succeeded and result.reference.startswith("pi_")
    assert (result.amount, result.currency) == (2500, "EUR")
    held = localstripe.api("GET", f"payment_intents/{result.reference}")
    assert held["status"] == "succeeded" and held["amount"] == 2500 and held["currency"] == "eur"
    assert held["customer"] == StripeGateway().stored_customer(buyer.id)
    assert held["payment_method"] == card.token
    assert held["metadata"]["idempotency_key"] == "checkout:key-1"
    assert held["metadata"]["user_id"] == str(buyer.id) and held["metadata"]["attempt_id"] == "att-1"
    # localstripe refuses `description` on PaymentIntents: it travels in metadata there.
    assert held["metadata"]["description"] == "Checkout att-1"


def test_a_card_that_declines_charges_fails_with_stripes_code_and_message(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer, "4000000000000341")
    result = _charge(buyer, card.token, "renewal:key-2", off_session=True)
    assert result.status == "failed" and result.failure_code == "card_declined"
    assert result.message and "declined" in result.message.lower()
    assert [pi["status"] for pi in localstripe.api("GET", "payment_intents")["data"]] == ["requires_payment_method"]


def test_on_session_a_card_needing_3d_secure_asks_the_browser_then_settles_from_stripe(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer, "4000002500003155")
    _pending_tx(buyer, "checkout:key-3")
    result = _charge(buyer, card.token, "checkout:key-3")
    assert result.requires_action and result.client_secret.startswith(result.reference)
    looked_up = StripeGateway().retrieve("checkout:key-3")
    assert looked_up.status == "pending" and looked_up.reference == result.reference
    authenticate_payment(localstripe, result.client_secret)
    settled = StripeGateway().retrieve("checkout:key-3")
    assert settled.succeeded and settled.reference == result.reference and settled.amount == 2500


def test_off_session_a_card_needing_3d_secure_fails_as_authentication_required(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer, "4000002500003155")
    result = _charge(buyer, card.token, "renewal:key-4", off_session=True)
    assert result.status == "failed" and result.failure_code == "authentication_required"
    assert result.client_secret is None and result.message


def test_stripe_unreachable_is_gateway_unavailable_and_a_later_lookup_finds_nothing(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer)
    ctx.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(GatewayUnavailable):
        _charge(buyer, card.token, "checkout:key-5")
    with pytest.raises(GatewayUnavailable):
        StripeGateway().retrieve("checkout:key-5")
    ctx.config["STRIPE_API_BASE"] = localstripe.base
    assert StripeGateway().retrieve("checkout:key-5") is None
    assert localstripe.api("GET", "payment_intents")["data"] == []


def test_retrieve_finds_a_charge_by_its_stored_reference_or_by_listing_for_our_key(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer)
    for n in range(3):  # others before it, so the lookup pages past them
        _charge(buyer, card.token, f"other:{n}")
    lost = _charge(buyer, card.token, "checkout:lost-answer")
    _charge(buyer, card.token, "other:after")
    _pending_tx(buyer, "checkout:lost-answer")  # the answer was lost: no reference stored
    found = StripeGateway().retrieve("checkout:lost-answer")
    assert found.succeeded and found.reference == lost.reference
    _pending_tx(buyer, "checkout:known", reference=lost.reference)
    assert StripeGateway().retrieve("checkout:known").reference == lost.reference
    assert StripeGateway().retrieve("checkout:never-sent") is None


def test_retrieve_pages_through_the_list_with_starting_after(ctx, buyer, localstripe, monkeypatch):
    monkeypatch.setattr("app.billing.gateway.stripe.PAGE_SIZE", 2)
    card = saved_card(localstripe, buyer)
    keys = [f"checkout:{n}" for n in range(5)]
    charged = [_charge(buyer, card.token, key) for key in keys]
    # localstripe lists oldest first, Stripe newest first: either way the key is on a later page.
    for key, result in ((keys[0], charged[0]), (keys[-1], charged[-1])):
        assert StripeGateway().retrieve(key).reference == result.reference


def test_a_partial_refund_is_a_stripe_refund_of_that_amount_found_again_by_its_key(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer)
    paid = _charge(buyer, card.token, "checkout:paid")
    refund_meta = {"transaction_id": str(uuid.uuid4())}
    result = StripeGateway().refund(
        charge_reference=paid.reference,
        amount=700,
        currency="EUR",
        idempotency_key="refund:1",
        reason="requested_by_customer",
        metadata=refund_meta,
    )
    assert result.succeeded and result.reference.startswith("re_") and result.amount == 700
    held = localstripe.api("GET", f"refunds/{result.reference}")
    assert held["amount"] == 700 and held["payment_intent"] == paid.reference
    assert held["metadata"]["idempotency_key"] == "refund:1"
    assert held["metadata"]["transaction_id"] == refund_meta["transaction_id"]
    # localstripe refuses `reason` on refunds: it travels in metadata there.
    assert held["metadata"]["reason"] == "requested_by_customer"
    _pending_tx(buyer, "refund:1", kind="refund")
    again = StripeGateway().retrieve("refund:1")
    assert again.reference == result.reference and again.amount == 700


def test_a_refund_stripe_refuses_is_a_failure_with_stripes_message(ctx, buyer, localstripe):
    card = saved_card(localstripe, buyer, "4000000000000341")
    assert _charge(buyer, card.token, "checkout:failed").status == "failed"
    # localstripe's 402 does not name the PaymentIntent (Stripe's error does); it holds it all the same.
    [failed] = localstripe.api("GET", "payment_intents")["data"]
    result = StripeGateway().refund(
        charge_reference=failed["id"], amount=100, currency="EUR", idempotency_key="refund:2"
    )
    assert result.status == "failed" and result.reference is None
    assert result.message == "Cannot refund a failed payment."
    assert localstripe.api("GET", "refunds")["data"] == []
