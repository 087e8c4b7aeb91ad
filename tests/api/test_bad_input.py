"""Whatever arrives under /api/, a 4xx problem document answers it, never a 5xx or an HTML page."""

from __future__ import annotations

import pytest

from tests.api.conftest import api_login, bearer, problem_of
from tests.support.users import make_user

LOGIN = "/api/v1/auth/login"


def test_malformed_json_is_a_400_problem(client):
    response = client.post(LOGIN, data='{"identifier": "ada", ', content_type="application/json")

    assert problem_of(response, 400)["detail"] == "The body isn't valid JSON."


def test_wrong_types_are_a_422_naming_the_field(client):
    response = client.post(LOGIN, json={"identifier": ["ada"], "password": 42})

    errors = problem_of(response, 422)["errors"]
    assert set(errors) == {"identifier", "password"} and "Not a valid string." in errors["identifier"]


def test_unknown_fields_are_refused_by_name(client):
    response = client.post(LOGIN, json={"identifier": "ada", "password": "x" * 12, "admin": True})

    assert problem_of(response, 422)["errors"] == {"admin": "Unknown field."}


def test_a_body_that_is_not_an_object_is_a_422_on_the_body(client):
    response = client.post(LOGIN, json=[1, 2, 3])

    assert "body" in problem_of(response, 422)["errors"]


def test_a_huge_body_is_a_413_problem(app, client):
    response = client.post(
        LOGIN,
        data='{"identifier": "' + "a" * (app.config["API_MAX_BODY_BYTES"] + 1) + '"}',
        content_type="application/json",
    )

    problem_of(response, 413)


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_a_deeply_nested_body_is_a_400_problem_not_a_crash(client, opening):
    closing = "]" if opening == "[" else "}"
    response = client.post(LOGIN, data=opening * 5000 + "1" + closing * 5000, content_type="application/json")

    assert problem_of(response, 400)["detail"] == "That JSON is nested too deeply."


def test_a_form_post_is_a_415_problem(client):
    response = client.post(LOGIN, data={"identifier": "ada", "password": "secret secret"})

    problem_of(response, 415)


def test_an_unknown_address_and_a_wrong_method_are_problems_under_the_api_and_pages_elsewhere(client):
    problem_of(client.get("/api/v1/nothing-here"), 404)
    problem_of(client.get(LOGIN), 405)

    page = client.get("/nothing-here")

    assert page.status_code == 404 and page.mimetype == "text/html"


def test_an_over_long_or_wrong_query_parameter_is_a_422(app, client):
    with app.app_context():
        make_user(username="ada")
    token = api_login(client, "ada")["access_token"]

    too_long = client.get("/api/v1/products", query_string={"q": "x" * 101}, headers=bearer(token))
    too_many = client.get("/api/v1/products", query_string={"limit": 101}, headers=bearer(token))
    forged = client.get("/api/v1/products", query_string={"cursor": "forged"}, headers=bearer(token))

    assert "q" in problem_of(too_long, 422)["errors"]
    assert "limit" in problem_of(too_many, 422)["errors"]
    assert "cursor" in problem_of(forged, 422)["errors"]


def test_a_malformed_id_in_the_path_is_a_404(app, client):
    with app.app_context():
        make_user(username="ada")
    token = api_login(client, "ada")["access_token"]

    problem_of(client.get("/api/v1/products/not-a-uuid", headers=bearer(token)), 404)


def test_an_error_inside_a_view_is_a_500_problem_without_details(app, client, monkeypatch):
    from app.api import me

    with app.app_context():
        make_user(username="ada")
    token = api_login(client, "ada")["access_token"]

    def explode():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(me, "current_token", explode)

    response = client.get("/api/v1/me", headers=bearer(token))

    body = problem_of(response, 500)
    assert "secret internals" not in response.get_data(as_text=True) and "Reference" in body["detail"]


def test_cors_is_off_unless_the_origin_is_listed(make_app):
    closed = make_app().test_client()
    assert (
        "Access-Control-Allow-Origin"
        not in closed.get("/api/v1/openapi.json", headers={"Origin": "https://x.test"}).headers
    )

    opened = make_app(API_CORS_ORIGINS=("https://partner.test",)).test_client()
    listed = opened.options(LOGIN, headers={"Origin": "https://partner.test", "Access-Control-Request-Method": "POST"})
    other = opened.get("/api/v1/openapi.json", headers={"Origin": "https://evil.test"})

    assert listed.headers["Access-Control-Allow-Origin"] == "https://partner.test"
    assert "Authorization" in listed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


def test_login_is_rate_limited_with_the_pages_limits_and_headers(make_app):
    limited = make_app(RATELIMIT_ENABLED=True)
    client = limited.test_client()

    answers = [client.post(LOGIN, json={"identifier": "nobody", "password": "wrong password"}) for _ in range(11)]

    assert answers[0].headers["X-RateLimit-Limit"]
    last = problem_of(answers[-1], 429)
    assert last["type"] == "urn:multiproduct:problem:rate-limited"
    assert int(answers[-1].headers["Retry-After"]) > 0
