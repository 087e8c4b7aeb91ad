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


def admin_get_urls(app) -> list[str]:
    """Every GET page under /admin, with sample values for its arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and "GET" in rule.methods:
            urls.append(rule.rule.replace("<int:role_id>", "1").replace("<job_id>", "nojob")
                        .replace("<uuid:user_id>", "00000000-0000-0000-0000-000000000001"))
    return urls


def admin_post_urls(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and "POST" in rule.methods:
            urls.append(rule.rule.replace("<int:role_id>", "1").replace("<job_id>", "nojob")
                        .replace("<uuid:user_id>", "00000000-0000-0000-0000-000000000001"))
    return urls


__all__ = ["admin_get_urls", "admin_post_urls", "db"]
