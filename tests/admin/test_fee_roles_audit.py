import csv
import io

import pytest
import sqlalchemy as sa

from app.auth import services as auth_services
from app.errors import Conflict
from app.extensions import db
from app.models import AuditEvent, PlatformFeeChange, Role, User
from tests.support.users import make_user


def test_admin_changes_the_fee_with_a_reason_and_sees_it_in_history(app, admin_client):
    response = admin_client.post("/admin/fee", data={"percent": "2.5", "reason": "Covering card costs"})
    assert response.status_code == 303
    page = admin_client.get("/admin/fee").get_data(as_text=True)
    assert "2.50%" in page and "Covering card costs" in page
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "fee.changed")).one()
        assert event.actor_id == admin_client.user_id and event.after["percent"] == "2.50"


@pytest.mark.parametrize(
    "percent,reason,message",
    [
        ("", "why", "Enter a percentage"),
        ("abc", "why", "Enter a percentage"),
        ("101", "why", "between 0 and 100"),
        ("-3", "why", "between 0 and 100"),
        ("1.234", "why", "two decimal places"),
        ("2", "", "Say why"),
        ("2", "x" * 501, "under 500"),
    ],
)
def test_a_bad_fee_is_explained_next_to_the_field_and_changes_nothing(app, admin_client, percent, reason, message):
    response = admin_client.post("/admin/fee", data={"percent": percent, "reason": reason})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlatformFeeChange)) == 0


def test_admin_creates_and_edits_a_role(app, admin_client):
    response = admin_client.post(
        "/admin/roles/new",
        data={"name": "billing-clerk", "description": "Invoices", "permissions": ["admin.access", "billing.view"]},
    )
    assert response.status_code == 303
    with app.app_context():
        role = db.session.scalar(sa.select(Role).where(Role.name == "billing-clerk"))
        assert role.permission_names == {"admin.access", "billing.view"}
        role_id = role.id
    response = admin_client.post(
        f"/admin/roles/{role_id}",
        data={"name": "billing-clerk", "description": "More", "permissions": ["admin.access"]},
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Role, role_id).permission_names == {"admin.access"}
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action.in_(["role.created", "role.updated"]))
            )
            == 2
        )


@pytest.mark.parametrize(
    "data,message",
    [
        ({"name": ""}, "lower-case letters"),
        ({"name": "Bad Name!"}, "lower-case letters"),
        ({"name": "support"}, "exists"),
        ({"name": "ok", "permissions": ["billing.everything"]}, "Unknown permission"),
        ({"name": "ok", "description": "d" * 201}, "under 200"),
    ],
)
def test_bad_role_input_is_refused(app, admin_client, data, message):
    response = admin_client.post("/admin/roles/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_the_admin_role_keeps_every_permission(app, admin_client):
    with app.app_context():
        admin_role = db.session.scalar(sa.select(Role).where(Role.name == "admin"))
    response = admin_client.post(
        f"/admin/roles/{admin_role.id}", data={"name": "admin", "permissions": ["admin.access"]}
    )
    assert response.status_code == 400
    assert "always has every permission" in response.get_data(as_text=True)


def test_the_last_admin_cannot_be_demoted_or_deactivated(app, admin_client):
    with app.app_context():
        customer_role_id = db.session.scalar(sa.select(Role.id).where(Role.name == "customer"))
        other = make_user(username="other_admin", role="admin")
        other_id = other.id
        auth_services.deactivate(other, actor_id=admin_client.user_id)
    # Only the signed-in admin is left active: they can't demote themselves.
    response = admin_client.post(f"/admin/users/{admin_client.user_id}/role", data={"role_id": customer_role_id})
    assert response.status_code == 409
    assert "last admin" in response.get_data(as_text=True)
    with app.app_context():
        deputy_id = make_user(username="deputy", role="admin").id
        with pytest.raises(Conflict):
            auth_services.deactivate(db.session.get(User, deputy_id), actor_id=deputy_id)
        db.session.rollback()
    assert admin_client.post(f"/admin/users/{deputy_id}/role", data={"role_id": customer_role_id}).status_code == 303
    assert (
        admin_client.post(f"/admin/users/{admin_client.user_id}/role", data={"role_id": customer_role_id}).status_code
        == 409
    )
    with app.app_context():
        assert db.session.get(User, admin_client.user_id).role.name == "admin"
        assert db.session.get(User, other_id).is_active is False


def test_audit_log_filters_by_action_and_exports_csv(app, admin_client):
    from app import audit

    with app.app_context():
        audit.record("login.success", actor_id=admin_client.user_id)
        audit.record("login.failure", target_type="users", target_id="someone")
        audit.record("fee.changed", actor_id=admin_client.user_id, before={"percent": "0"}, after={"percent": "=1+1"})
        db.session.commit()
    page = admin_client.get("/admin/audit?action=login.failure").get_data(as_text=True)
    assert "login.failure" in page and "<code>fee.changed</code>" not in page
    partial = admin_client.get("/admin/audit?action=fee.changed", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and "fee.changed" in partial.get_data(as_text=True)
    export = admin_client.get("/admin/audit.csv?q=root", buffered=True)
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][:3] == ["when", "actor", "action"]
    assert sorted(r[2] for r in rows[1:]) == ["fee.changed", "login.success"]
    assert all(not cell.startswith("=") for row in rows for cell in row)  # no formula injection


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=abc",
        "sort=evil",
        "dir=sideways",
        "from=2026-13-45",
        "per_page=100000",
        "q=" + "x" * 5000,
        "q=%27%20OR%201=1%20--",
        "action=%00",
        "q=%00",
    ],
)
def test_nonsense_list_parameters_never_500(admin_client, query):
    assert admin_client.get(f"/admin/audit?{query}").status_code == 200


def test_editing_a_role_takes_effect_at_once_despite_the_permission_cache(app, admin_client):
    admin_client.post("/admin/roles/new", data={"name": "auditor", "permissions": ["admin.access", "audit.view"]})
    auditor_client = app.test_client()
    with app.app_context():
        role_id = db.session.scalar(sa.select(Role.id).where(Role.name == "auditor"))
        from tests.support.users import sign_in

        sign_in(auditor_client, make_user(username="eve", role="auditor"))
    assert auditor_client.get("/admin/audit").status_code == 200  # now cached
    admin_client.post(f"/admin/roles/{role_id}", data={"name": "auditor", "permissions": ["admin.access"]})
    assert auditor_client.get("/admin/audit").status_code == 403
