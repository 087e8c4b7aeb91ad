"""The API's billing over HTTP: trial, purchase with the sandbox card, invoices, PDF, payments, plan changes,
Idempotency-Key (replay, reuse, 20 concurrent duplicates), ownership, scopes, and the admin's roles."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.auth import tokens
from app.billing.gateway.sandbox import SandboxGateway
from app.extensions import db
from app.models.billing import Invoice, Subscription, Transaction
from app.models.checkout import CartItem
from app.models.user import User
from tests.api.conftest import api_login, bearer, problem_of
from tests.support.checkout import CARD_DECLINED, CARD_OK, SCHEMA, catalog, held_subscription, ids
from tests.support.users import make_user

pytestmark = pytest.mark.postgres

CARD = {"number": CARD_OK, "expiry": "12/34", "cvc": "123", "name": "Ada Lovelace"}


@pytest.fixture
def shop(app):
    with app.app_context():
        rows = catalog()
        rows["crm"].product_schema = SCHEMA
        db.session.commit()
        result = ids(rows)
        make_user(username="ada", email="ada@example.com")
        make_user(username="bob", email="bob@example.com")
        db.session.remove()
    return result


@pytest.fixture
def ada(client, shop):
    return bearer(api_login(client, "ada")["access_token"])


def _purchase(shop, card=CARD, **extra):
    items = [{"plan_id": str(shop["crm_team"]), "answers": {"company_name": "Analytical Engines", "seats": 3}}]
    return {"items": items, "payment_method": "card", "card": card, **extra}


def _charges(app):
    return SandboxGateway(app.extensions["redis"]).charges()


def test_trial_then_purchase_with_the_sandbox_card_then_invoices_pdf_and_the_payment(app, client, shop, ada):
    products = client.get("/api/v1/products", headers=ada).get_json()["items"]
    assert {p["name"] for p in products} == {"Pipeline CRM", "Insight Analytics"}
    detail = client.get(f"/api/v1/products/{shop['crm']}", headers=ada).get_json()
    assert {p["name"] for p in detail["plans"]} == {"Team", "Pro"}

    unanswered = client.post("/api/v1/subscriptions/trial", json={"plan_id": str(shop["crm_team"])}, headers=ada)
    assert "answers.company_name" in problem_of(unanswered, 422)["errors"]
    trial = client.post(
        "/api/v1/subscriptions/trial",
        json={"plan_id": str(shop["crm_team"]), "answers": {"company_name": "Analytical Engines"}},
        headers=ada,
    )
    assert trial.status_code == 201, trial.get_data(as_text=True)
    assert trial.get_json()["subscription"]["status"] == "trial"
    again = client.post(
        "/api/v1/subscriptions/trial",
        json={"plan_id": str(shop["crm_team"]), "answers": {"company_name": "Analytical Engines"}},
        headers=ada,
    )
    problem_of(again, 409)

    bought = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=ada)
    assert bought.status_code == 201, bought.get_data(as_text=True)
    order = bought.get_json()
    assert order["status"] == "paid" and "Set-Cookie" not in bought.headers  # the cart's count is no cookie
    [invoice] = order["invoices"]
    assert invoice["status"] == "paid" and invoice["total"] == 5390  # $49.00 + the 10 % fee
    [sub] = order["subscriptions"]
    assert sub["status"] == "active" and sub["answers"]["seats"] == 3
    assert [c["status"] for c in _charges(app)] == ["succeeded"]

    listed = client.get("/api/v1/invoices", headers=ada).get_json()
    assert [i["id"] for i in listed["items"]] == [invoice["id"]] and listed["next_cursor"] is None
    one = client.get(f"/api/v1/invoices/{invoice['id']}", headers=ada).get_json()
    assert one["number"] == invoice["number"] and one["lines"]
    pdf = client.get(invoice["pdf"], headers=ada)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    payment = client.get(f"/api/v1/payments/{invoice['transaction_id']}", headers=ada).get_json()
    assert payment["status"] == "succeeded" and payment["amount"] == 5390
    assert [i["id"] for i in payment["invoices"]] == [invoice["id"]]

    subs = client.get("/api/v1/subscriptions", headers=ada).get_json()["items"]
    assert [(s["id"], s["status"]) for s in subs] == [(sub["id"], "active")]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CartItem)) == 0


def test_a_declined_card_is_a_402_problem_and_buys_nothing(app, client, shop, ada):
    card = {**CARD, "number": CARD_DECLINED}
    declined = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop, card=card), headers=ada)
    problem_of(declined, 402)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.status == "paid")) == 0


def test_bad_card_fields_are_a_422_naming_the_field(client, shop, ada):
    bad = client.post(
        "/api/v1/subscriptions/purchase", json=_purchase(shop, card={**CARD, "expiry": "13/99"}), headers=ada
    )
    assert "card.expiry" in problem_of(bad, 422)["errors"]


def test_the_same_idempotency_key_and_body_replays_the_answer_and_charges_once(app, client, shop, ada):
    headers = {**ada, "Idempotency-Key": "order-1"}
    first = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=headers)
    second = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert len(_charges(app)) == 1


def test_the_same_idempotency_key_with_another_body_is_a_409_and_runs_nothing(app, client, shop, ada):
    headers = {**ada, "Idempotency-Key": "order-2"}
    client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=headers)
    other = {"items": [{"plan_id": str(shop["analytics_yearly"])}], "card": CARD}
    reused = client.post("/api/v1/subscriptions/purchase", json=other, headers=headers)
    assert "different request" in problem_of(reused, 409)["detail"]
    assert len(_charges(app)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_another_users_idempotency_key_is_theirs_alone(app, client, shop, ada):
    bob = bearer(api_login(client, "bob")["access_token"])
    for headers in ({**ada, "Idempotency-Key": "same"}, {**bob, "Idempotency-Key": "same"}):
        assert client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=headers).status_code == 201
    assert len(_charges(app)) == 2


def test_an_unprintable_idempotency_key_is_a_422(client, shop, ada):
    bad = client.post(
        "/api/v1/subscriptions/purchase", json=_purchase(shop), headers={**ada, "Idempotency-Key": "x" * 256}
    )
    assert "Idempotency-Key" in problem_of(bad, 422)["errors"]


def test_twenty_concurrent_identical_purchases_charge_once_and_all_get_the_same_answer(app, client, shop, ada):
    headers = {**ada, "Idempotency-Key": "burst-of-twenty"}
    body = _purchase(shop)
    barrier = threading.Barrier(20)
    answers = []

    def buy():
        mine = app.test_client()
        barrier.wait()
        response = mine.post("/api/v1/subscriptions/purchase", json=body, headers=headers)
        answers.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=buy) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(answers) == 20 and len(set(answers)) == 1, answers
    assert answers[0][0] == 201
    assert [c["status"] for c in _charges(app)] == ["succeeded"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_cancel_at_period_end_then_resume(client, shop, ada):
    sub = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=ada).get_json()["subscriptions"][
        0
    ]
    cancelled = client.post(f"/api/v1/subscriptions/{sub['id']}/cancel", json={}, headers=ada)
    assert cancelled.status_code == 200 and cancelled.get_json()["subscription"]["cancel_at_period_end"] is True
    resumed = client.post(f"/api/v1/subscriptions/{sub['id']}/resume", headers=ada)
    assert resumed.status_code == 200 and resumed.get_json()["subscription"]["cancel_at_period_end"] is False


def test_an_upgrade_previewed_then_applied_charges_the_card_on_file_once(app, client, shop, ada):
    with app.app_context():
        ada_id = db.session.scalar(sa.select(User.id).where(User.username == "ada"))
        sub = {"id": str(held_subscription(ada_id, shop["crm_team"]))}
    url = f"/api/v1/subscriptions/{sub['id']}/change"
    preview = client.get(url, query_string={"plan_id": str(shop["crm_pro"])}, headers=ada).get_json()
    assert preview["effective"] == "now" and preview["net"] > 0
    body = {
        "plan_id": str(shop["crm_pro"]),
        "fingerprint": preview["fingerprint"],
        "previewed_at": preview["previewed_at"],
    }
    stale = client.post(url, json={**body, "fingerprint": "0" * 64}, headers=ada)
    problem_of(stale, 409)  # a preview that no longer holds: preview again
    headers = {**ada, "Idempotency-Key": "upgrade-1"}
    applied = client.post(url, json=body, headers=headers)
    assert applied.status_code == 200, applied.get_data(as_text=True)
    assert client.post(url, json=body, headers=headers).get_json() == applied.get_json()
    assert len(_charges(app)) == 1  # the upgrade, once
    assert client.get(f"/api/v1/subscriptions/{sub['id']}", headers=ada).get_json()["plan_id"] == str(shop["crm_pro"])


def test_another_users_subscription_invoice_and_payment_are_404s(app, client, shop, ada):
    order = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=ada).get_json()
    bob = bearer(api_login(client, "bob")["access_token"])
    sub, invoice = order["subscriptions"][0]["id"], order["invoices"][0]
    for method, url in [
        ("get", f"/api/v1/subscriptions/{sub}"),
        ("post", f"/api/v1/subscriptions/{sub}/resume"),
        ("get", f"/api/v1/subscriptions/{sub}/change?plan_id={shop['crm_pro']}"),
        ("get", f"/api/v1/invoices/{invoice['id']}"),
        ("get", f"/api/v1/invoices/{invoice['id']}.pdf"),
        ("get", f"/api/v1/payments/{invoice['transaction_id']}"),
    ]:
        problem_of(getattr(client, method)(url, headers=bob), 404)
    problem_of(client.post(f"/api/v1/subscriptions/{sub}/cancel", json={}, headers=bob), 404)
    assert client.get("/api/v1/invoices", headers=bob).get_json()["items"] == []


def test_a_read_token_can_look_but_not_buy(app, client, shop):
    with app.app_context():
        ada = db.session.scalar(sa.select(User).where(User.username == "ada"))
        _, raw = tokens.create_personal_token(ada, name="reports", scopes=["read"])
    headers = bearer(raw)
    assert client.get("/api/v1/subscriptions", headers=headers).status_code == 200
    for url in ("/api/v1/subscriptions/purchase", "/api/v1/subscriptions/trial"):
        assert "billing" in problem_of(client.post(url, json=_purchase(shop), headers=headers), 403)["detail"]
    assert _charges(app) == []


def test_roles_need_the_admin_scope_and_the_pages_permission(app, client, shop, ada):
    with app.app_context():
        support = make_user(username="sam", role="support")
        boss = make_user(username="root", role="admin")
        _, support_token = tokens.create_personal_token(support, name="s", scopes=["read", "admin"])
        _, boss_token = tokens.create_personal_token(boss, name="b", scopes=["read", "admin"])
        _, boss_read = tokens.create_personal_token(boss, name="r", scopes=["read"])
        bob_id = db.session.scalar(sa.select(User.id).where(User.username == "bob"))
    problem_of(client.get("/api/v1/roles", headers=ada), 403)  # a customer's token has no admin scope
    problem_of(client.get("/api/v1/roles", headers=bearer(boss_read)), 403)
    problem_of(client.get("/api/v1/roles", headers=bearer(support_token)), 403)  # no roles.manage

    roles = client.get("/api/v1/roles", headers=bearer(boss_token)).get_json()
    support_role = next(r for r in roles if r["name"] == "support")
    assert "users.view" in support_role["permissions"]
    denied = client.post(
        f"/api/v1/users/{bob_id}/role", json={"role_id": support_role["id"]}, headers=bearer(support_token)
    )
    problem_of(denied, 403)
    changed = client.post(
        f"/api/v1/users/{bob_id}/role", json={"role_id": support_role["id"]}, headers=bearer(boss_token)
    )
    assert changed.status_code == 200 and changed.get_json()["role"] == "support"
    problem_of(client.post(f"/api/v1/users/{bob_id}/role", json={"role_id": 99999}, headers=bearer(boss_token)), 422)


def test_a_card_setup_with_the_sandbox_gateway_is_a_409_it_takes_the_card_fields(client, shop, ada):
    assert "card" in problem_of(client.post("/api/v1/payments/card-setup", headers=ada), 409)["detail"]


def test_a_trial_sent_twice_with_one_key_starts_one_trial_and_answers_the_same(app, client, shop, ada):
    body = {"plan_id": str(shop["analytics_yearly"])}
    headers = {**ada, "Idempotency-Key": "trial-1"}
    first = client.post("/api/v1/subscriptions/trial", json=body, headers=headers)
    second = client.post("/api/v1/subscriptions/trial", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.get_json() == second.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_invoices_and_subscriptions_page_by_cursor_newest_first(client, shop, ada):
    first = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=ada).get_json()
    other = {"items": [{"plan_id": str(shop["analytics_yearly"])}], "card": CARD}
    second = client.post("/api/v1/subscriptions/purchase", json=other, headers=ada).get_json()
    page = client.get("/api/v1/invoices", query_string={"limit": 1}, headers=ada).get_json()
    assert [i["id"] for i in page["items"]] == [second["invoices"][0]["id"]] and page["next"]
    rest = client.get(page["next"], headers=ada).get_json()
    assert [i["id"] for i in rest["items"]] == [first["invoices"][0]["id"]] and rest["next_cursor"] is None
    subs = client.get("/api/v1/subscriptions", query_string={"limit": 1}, headers=ada).get_json()
    more = client.get(subs["next"], headers=ada).get_json()
    assert len(subs["items"]) == len(more["items"]) == 1 and more["next_cursor"] is None
    assert subs["items"][0]["id"] != more["items"][0]["id"]
    problem_of(client.get("/api/v1/invoices", query_string={"cursor": "forged"}, headers=ada), 422)


def test_an_upgrade_of_a_subscription_bought_at_checkout_is_applied(client, shop, ada):
    sub = client.post("/api/v1/subscriptions/purchase", json=_purchase(shop), headers=ada).get_json()["subscriptions"][
        0
    ]
    url = f"/api/v1/subscriptions/{sub['id']}/change"
    preview = client.get(url, query_string={"plan_id": str(shop["crm_pro"])}, headers=ada).get_json()
    body = {
        "plan_id": str(shop["crm_pro"]),
        "fingerprint": preview["fingerprint"],
        "previewed_at": preview["previewed_at"],
    }
    assert client.post(url, json=body, headers=ada).status_code == 200
