"""The social buttons partial (only configured providers, plain links that keep `next`),
the problem page, rate limits."""

from flask import render_template

from tests.support.oidc import text


def render_buttons(app, **context):
    with app.test_request_context("/auth/login?next=/invoices"):
        return render_template("auth/_social_buttons.html", **context)


def test_no_provider_configured_renders_nothing(app):
    assert render_buttons(app).strip() == ""


def test_only_configured_providers_get_a_button(app):
    app.config.update(GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret", FACEBOOK_CLIENT_ID="only-an-id")
    html = render_buttons(app)
    assert "Continue with Google" in html and "Facebook" not in html
    app.config.update(FACEBOOK_CLIENT_SECRET="secret")
    assert "Continue with Facebook" in render_buttons(app)


def test_buttons_link_to_the_flow_with_next_and_are_not_boosted(app):
    app.config.update(
        GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret", FACEBOOK_CLIENT_ID="id", FACEBOOK_CLIENT_SECRET="secret"
    )
    html = render_buttons(app)
    assert 'href="/auth/oauth/google?next=/invoices"' in html
    assert 'href="/auth/oauth/facebook?next=/invoices"' in html
    assert 'hx-boost="false"' in html  # the provider's pages can't be fetched by XHR
    assert html.count("<svg") == 2 and "style=" not in html  # CSP: no inline styles
    assert 'href="/auth/oauth/google?next=/catalog"' in render_buttons(app, next="/catalog")


def test_the_problem_page_offers_the_buttons_again(app, client):
    app.config.update(GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret")
    response = client.get("/auth/oauth/google/callback?error=access_denied&state=x")
    assert response.status_code == 403
    assert "Sign-in didn't finish" in text(response) and "Continue with Google" in text(response)


def test_the_sign_in_endpoints_are_rate_limited_per_ip(make_app):
    app = make_app(RATELIMIT_ENABLED=True, GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret")
    client = app.test_client()
    statuses = [client.get("/auth/oauth/google/callback?error=access_denied").status_code for _ in range(31)]
    assert statuses[:30] == [403] * 30 and statuses[30] == 429


def test_the_login_and_signup_pages_show_the_buttons_above_the_form(app, client):
    app.config.update(
        GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="secret", FACEBOOK_CLIENT_ID="id", FACEBOOK_CLIENT_SECRET="secret"
    )
    login = client.get("/auth/login?next=/catalog").get_data(as_text=True)
    assert 'href="/auth/oauth/google?next=/catalog"' in login and 'href="/auth/oauth/facebook?next=/catalog"' in login
    assert (
        login.index("Continue with Google")
        < login.index("or log in with your password")
        < login.index('name="identifier"')
    )
    signup = client.get("/auth/signup").get_data(as_text=True)
    assert (
        signup.index("Continue with Facebook")
        < signup.index("or sign up with your email")
        < signup.index('name="username"')
    )


def test_without_providers_the_login_page_has_no_buttons_and_no_divider_for_them(client):
    login = client.get("/auth/login").get_data(as_text=True)
    assert "social-buttons" not in login and "or log in with your password" not in login
