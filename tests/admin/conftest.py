import pytest

from app.extensions import db
from tests.support.routes import route_urls
from tests.support.users import make_user, sign_in


def client_as(app, role: str, username: str):
    client = app.test_client()
    with app.app_context():
        user = make_user(username=username, role=role)
        sign_in(client, user)
        client.user_id = user.id
    return client


@pytest.fixture
def admin_client(app):
    return client_as(app, "admin", "root")


@pytest.fixture
def support_client(app):
    return client_as(app, "support", "helper")


@pytest.fixture
def customer_client(app):
    return client_as(app, "customer", "buyer")


SAMPLE_ARGS = {"<int:role_id>": "1", "<job_id>": "nojob", "<uuid:user_id>": "00000000-0000-0000-0000-000000000001"}


def admin_urls(app, method: str) -> list[str]:
    """Every /admin route for `method`, with sample values for its arguments."""
    return route_urls(app, method, SAMPLE_ARGS, prefix="/admin")


def admin_get_urls(app) -> list[str]:
    return admin_urls(app, "GET")


def admin_post_urls(app) -> list[str]:
    return admin_urls(app, "POST")


__all__ = ["admin_get_urls", "admin_post_urls", "db"]

# Products and plans (app/admin/products.py, plans.py); tests that need real rows swap these for real ids.
SAMPLE_ARGS.update(
    {
        "<uuid:product_id>": "00000000-0000-0000-0000-000000000002",
        "<uuid:plan_id>": "00000000-0000-0000-0000-000000000003",
    }
)

# Subscriptions and invoices (app/admin/subscriptions.py, invoices.py); tests needing real rows swap them too.
SAMPLE_ARGS.update(
    {
        "<uuid:subscription_id>": "00000000-0000-0000-0000-000000000004",
        "<uuid:invoice_id>": "00000000-0000-0000-0000-000000000005",
    }
)
