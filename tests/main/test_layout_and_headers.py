import re

import pytest


def test_home_page_renders_the_layout(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<nav class="container nav" aria-label="Main">' in html
    assert 'id="toasts"' in html and "<footer" in html
    assert "/static/vendor/htmx-2.0.11.min.js" in html


def test_every_htmx_request_carries_the_csrf_token(client):
    html = client.get("/").get_data(as_text=True)
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html)


def test_csp_has_a_fresh_nonce_and_no_unsafe_inline_script(client):
    first = client.get("/").headers["Content-Security-Policy"]
    second = client.get("/").headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", first).group(1)
    assert nonce not in second
    assert "unsafe-inline" not in first and "unsafe-eval" not in first
    assert "frame-ancestors 'none'" in first


def test_scripts_in_the_page_carry_the_nonce_of_the_response(client):
    response = client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script[^>]*>", response.get_data(as_text=True))
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)


def test_hardening_headers_are_set(client):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # production only


def test_production_adds_hsts_and_secure_cookies(make_app):
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    app = make_app(HSTS=True)
    assert "max-age=31536000" in app.test_client().get("/").headers["Strict-Transport-Security"]


def test_responses_that_differ_by_htmx_say_so_in_vary(client):
    assert "HX-Request" in client.get("/").headers["Vary"]
    assert "HX-Request" in client.get("/", headers={"HX-Request": "true"}).headers["Vary"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-Boosted": "true"}],
    ids=["page", "fragment", "boosted"],
)
@pytest.mark.parametrize("url", ["/", "/products/", "/notifications/"])
def test_vary_names_both_htmx_headers_and_keeps_cookie(signed_in, url, headers):
    """A full page, a boosted page and a fragment share one URL: a cache must key on every header that picks one."""
    response = signed_in.get(url, headers=headers)
    assert response.status_code == 200
    assert {"HX-Request", "HX-Boosted", "Cookie"} <= set(response.vary), response.headers.get("Vary")


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_htmx_errors_come_back_as_a_toast_partial(client):
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#toasts"
    body = response.get_data(as_text=True)
    assert 'class="toast toast-error"' in body and "<html" not in body


def test_app_errors_map_to_their_status_and_message(make_app):
    from app.errors import Conflict, ExternalServiceError, NotFound, RateLimited, ValidationError

    app = make_app()
    errors = {
        400: ValidationError({"amount": "Amount must be positive"}),
        404: NotFound("No such invoice"),
        409: Conflict("That username is taken"),
        429: RateLimited(retry_after=17),
        502: ExternalServiceError("The payment gateway timed out"),
    }

    @app.get("/_raise/<int:status>")
    def raise_it(status):
        raise errors[status]

    client = app.test_client()
    for status, exc in errors.items():
        response = client.get(f"/_raise/{status}")
        assert response.status_code == status
        assert exc.message in response.get_data(as_text=True)
    assert client.get("/_raise/429").headers["Retry-After"] == "17"


def test_unexpected_errors_show_a_500_page_with_the_request_id(make_app, caplog):
    app = make_app()

    @app.get("/_boom")
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/_boom", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "req-42" in body and "kaboom" not in body and "Traceback" not in body
    assert any(getattr(r, "request_id", None) == "req-42" and r.levelname == "ERROR" for r in caplog.records)


def test_csrf_is_required_on_mutations(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)

    @app.post("/_mutate")
    def mutate():
        return "changed"

    client = app.test_client()
    response = client.post("/_mutate")
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    html = client.get("/").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
    assert client.post("/_mutate", headers={"X-CSRFToken": token}).status_code == 200


def test_the_navbar_shows_account_sections_only_to_signed_in_people(client, signed_in):
    anonymous = client.application.test_client().get("/").get_data(as_text=True)
    assert ">Products<" in anonymous and ">Subscriptions<" not in anonymous
    page = signed_in.get("/").get_data(as_text=True)
    assert ">Subscriptions<" in page and ">Invoices<" in page
