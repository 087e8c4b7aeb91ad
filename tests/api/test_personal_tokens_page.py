"""The account page where people make and revoke personal access tokens for their scripts."""

from __future__ import annotations

import re

from tests.api.conftest import bearer, problem_of
from tests.support.users import make_user, sign_in


def _signed_in(app, client, **fields):
    with app.app_context():
        user = make_user(username="ada", **fields)
        sign_in(client, user)


def test_a_token_made_on_the_page_is_shown_once_and_works_with_its_scope(app, client):
    _signed_in(app, client)

    made = client.post("/account/api-tokens", data={"name": "backup script", "scopes": ["read"]})

    assert made.status_code == 200
    token = re.search(r'value="(mpp_[^"]+)"', made.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    again = client.get("/account/api-tokens").get_data(as_text=True)
    assert "backup script" in again and token not in again  # listed, never shown again


def test_revoking_on_the_page_refuses_the_token_from_then_on(app, client):
    _signed_in(app, client)
    made = client.post("/account/api-tokens", data={"name": "cron", "scopes": ["read"]}).get_data(as_text=True)
    token = re.search(r'value="(mpp_[^"]+)"', made).group(1)
    token_id = re.search(r"/account/api-tokens/([0-9a-f-]{36})/revoke", made).group(1)

    assert client.post(f"/account/api-tokens/{token_id}/revoke").status_code == 303

    problem_of(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_a_customer_is_not_offered_the_admin_scope_and_cannot_post_it(app, client):
    _signed_in(app, client)

    page = client.get("/account/api-tokens").get_data(as_text=True)
    refused = client.post("/account/api-tokens", data={"name": "sneaky", "scopes": ["admin"]})

    assert 'value="admin"' not in page and 'value="read"' in page
    assert refused.status_code == 400
    assert "Only staff accounts can make tokens with the admin scope." in refused.get_data(as_text=True)


def test_a_token_needs_a_name_and_a_scope(app, client):
    _signed_in(app, client)

    nameless = client.post("/account/api-tokens", data={"name": "", "scopes": ["read"]})
    scopeless = client.post("/account/api-tokens", data={"name": "x"})

    assert nameless.status_code == 400 and "Name the token" in nameless.get_data(as_text=True)
    assert scopeless.status_code == 400 and "Choose at least one of" in scopeless.get_data(as_text=True)
