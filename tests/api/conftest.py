"""Helpers for the API's tests: sign in over HTTP and send the token."""

from __future__ import annotations

from tests.support.users import DEFAULT_PASSWORD


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_login(client, identifier: str, password: str = DEFAULT_PASSWORD, **extra) -> dict:
    response = client.post("/api/v1/auth/login", json={"identifier": identifier, "password": password, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def problem_of(response, status: int) -> dict:
    """The response is a problem document with `status`; its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["type"].startswith("urn:multiproduct:problem:")
    assert body["title"] and body["detail"]
    return body
