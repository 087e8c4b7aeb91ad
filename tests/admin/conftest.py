import pytest

from app.extensions import db
from tests.support.users import make_user, sign_in


def _client_as(app, role: str, username: str):
    client = app.test_client()
    with app.app_context():
        user = make_user(username=username, role=role)
        sign_in(client, user)
        client.user_id = user.id
    return client


@pytest.fixture
def admin_client(app):
    return _client_as(app, "admin", "root")


@pytest.fixture
def support_client(app):
    return _client_as(app, "support", "helper")


@pytest.fixture
def customer_client(app):
    return _client_as(app, "customer", "buyer")


# Sample values for URL arguments; tests that need real rows replace the UUIDs with real ids.
PLACEHOLDERS = {
    "<int:role_id>": "1",
    "<job_id>": "nojob",
    "<uuid:user_id>": "00000000-0000-0000-0000-000000000001",
    "<uuid:product_id>": "00000000-0000-0000-0000-000000000002",
    "<uuid:plan_id>": "00000000-0000-0000-0000-000000000003",
}


def _admin_urls(app, method: str) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and method in rule.methods:
            url = rule.rule
            for placeholder, value in PLACEHOLDERS.items():
                url = url.replace(placeholder, value)
            assert "<" not in url, f"add a sample value for {url} to PLACEHOLDERS"
            urls.append(url)
    return urls


def admin_get_urls(app) -> list[str]:
    """Every GET page under /admin, with sample values for its arguments."""
    return _admin_urls(app, "GET")


def admin_post_urls(app) -> list[str]:
    return _admin_urls(app, "POST")


__all__ = ["admin_get_urls", "admin_post_urls", "db"]
