"""The webhook reads at most 256 KB and refuses an event nested deeper than any of ours, signed or not."""

import json

import sqlalchemy as sa

from app.billing.gateway import signing
from app.extensions import db
from app.models.checkout import WebhookEvent

SECRET = "whsec_test_current"


def _post_signed(client, body: bytes):
    return client.post(
        "/payment/webhook",
        data=body,
        content_type="application/json",
        headers={signing.HEADER: signing.sign(body, [SECRET])},
    )


def _event(**object_fields) -> dict:
    return {"id": "evt_limits", "type": "customer.updated", "data": {"object": {"id": "cus_1", **object_fields}}}


def _stored(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))


def test_a_signed_body_over_256_kb_is_refused_with_413_unread(app, client):
    body = json.dumps(_event(padding="x" * 300_000)).encode()
    assert _post_signed(client, body).status_code == 413
    assert _stored(app) == 0


def test_a_signed_body_just_under_256_kb_is_received(app, client):
    body = json.dumps(_event(padding="x" * 250_000)).encode()
    response = _post_signed(client, body)
    assert response.status_code == 200 and response.json["status"] == "ignored"
    assert _stored(app) == 1


def test_a_signed_event_100000_levels_deep_is_a_400(app, client):
    body = ("[" * 100_000 + "]" * 100_000).encode()
    response = _post_signed(client, body)
    assert response.status_code == 400 and response.json["error"] == "body is nested too deeply"
    assert _stored(app) == 0


def test_a_signed_event_nested_too_deep_to_store_is_a_400(app, client):
    # Shallow enough for json.loads, deep enough to overflow the stack when stored as JSON.
    for depth in (40, 900):
        body = json.dumps(_event(extra=json.loads("[" * depth + "]" * depth))).encode()
        response = _post_signed(client, body)
        assert response.status_code == 400 and response.json["error"] == "body is nested too deeply", depth
    assert _stored(app) == 0
