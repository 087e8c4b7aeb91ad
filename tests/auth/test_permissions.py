"""permission_required: anonymous → login, no admin access → 404, missing permission → 403."""

import pytest

from app.auth.permissions import permission_required
from app.extensions import db
from tests.support.users import make_user, sign_in


@pytest.fixture
def guarded(make_app):
    app = make_app()

    @app.get("/_guarded/refunds")
    @permission_required("billing.refund")
    def refunds():
        return "refund desk"

    return app


def client_as(app, role):
    client = app.test_client()
    with app.app_context():
        user = make_user(role=role)
        sign_in(client, user)
        db.session.expunge(user)
    return client


def test_anonymous_visitors_are_sent_to_login(guarded):
    response = guarded.test_client().get("/_guarded/refunds")
    assert response.status_code == 302 and "/auth/login?next=" in response.headers["Location"]


def test_users_without_admin_access_get_not_found(guarded):
    assert client_as(guarded, "customer").get("/_guarded/refunds").status_code == 404


def test_admin_access_without_the_permission_is_forbidden(guarded):
    response = client_as(guarded, "support").get("/_guarded/refunds")
    assert response.status_code == 403 and "You can&#39;t do that" in response.text


def test_the_permission_lets_the_view_run(guarded):
    response = client_as(guarded, "admin").get("/_guarded/refunds")
    assert response.status_code == 200 and response.text == "refund desk"
