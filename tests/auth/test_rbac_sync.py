"""Roles and permissions are declared once (app/rbac.py); the migration and `flask rbac sync` write them."""

import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from app import rbac
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.user import Permission, Role, role_permission
from tests.support.users import make_user

DECLARED_PERMISSIONS = set(rbac.PERMISSIONS.items())
DECLARED_ROLES = set(rbac.ROLES)
DECLARED_GRANTS = {(role, permission) for role, (_, permissions) in rbac.ROLES.items() for permission in permissions}


def _rows(conn):
    permissions = set(conn.execute(sa.select(Permission.name, Permission.description)).all())
    roles = set(conn.scalars(sa.select(Role.name)))
    grants = set(
        conn.execute(
            sa.select(Role.name, Permission.name)
            .select_from(role_permission)
            .join(Role, Role.id == role_permission.c.role_id)
            .join(Permission, Permission.id == role_permission.c.permission_id)
        ).all()
    )
    return {tuple(p) for p in permissions}, roles, {tuple(g) for g in grants}


def test_flask_db_upgrade_on_an_empty_database_writes_exactly_the_declared_roles_and_permissions(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}")
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context(), db.engine.connect() as conn:
        assert _rows(conn) == (DECLARED_PERMISSIONS, DECLARED_ROLES, DECLARED_GRANTS)


def test_the_test_database_holds_the_declaration(app):
    with app.app_context():
        assert _rows(db.session.connection()) == (DECLARED_PERMISSIONS, DECLARED_ROLES, DECLARED_GRANTS)


def _drift():
    db.session.execute(sa.delete(Permission).where(Permission.name == "billing.refund"))
    db.session.execute(sa.update(Permission).where(Permission.name == "audit.view").values(description="old words"))
    extra = Permission(name="legacy.export", description="Nothing checks this any more")
    support = db.session.scalar(sa.select(Role).where(Role.name == "support"))
    support.permissions.append(extra)
    db.session.commit()


def test_rbac_sync_after_a_drift_restores_the_declaration_and_audits_what_it_changed(app, runner):
    with app.app_context():
        _drift()
        assert _rows(db.session.connection()) != (DECLARED_PERMISSIONS, DECLARED_ROLES, DECLARED_GRANTS)

    result = runner.invoke(args=["rbac", "sync"])

    assert result.exit_code == 0, result.output
    assert "permissions added: billing.refund" in result.output
    assert "permissions removed: legacy.export" in result.output
    assert "descriptions updated: audit.view" in result.output
    assert "grants added: admin:billing.refund" in result.output
    with app.app_context():
        assert _rows(db.session.connection()) == (DECLARED_PERMISSIONS, DECLARED_ROLES, DECLARED_GRANTS)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "rbac.synced"))
        assert event.after["permissions_added"] == ["billing.refund"]
        assert event.after["permissions_removed"] == ["legacy.export"]


def test_a_second_rbac_sync_changes_nothing(app, runner):
    with app.app_context():
        _drift()
    runner.invoke(args=["rbac", "sync"])
    with app.app_context():
        before = _rows(db.session.connection())
        db.session.rollback()

    result = runner.invoke(args=["rbac", "sync"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "roles and permissions already match app/rbac.py"
    with app.app_context():
        assert _rows(db.session.connection()) == before
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "rbac.synced")) == 1


def test_rbac_sync_keeps_what_operators_changed_on_the_roles_page(app, runner):
    with app.app_context():
        support = db.session.scalar(sa.select(Role).where(Role.name == "support"))
        support.permissions = [p for p in support.permissions if p.name != "billing.view"]
        support.description = "Our helpdesk"
        db.session.add(Role(name="auditor", description="Reads the log", permissions=[]))
        db.session.commit()

    result = runner.invoke(args=["rbac", "sync"])

    assert result.output.strip() == "roles and permissions already match app/rbac.py"
    with app.app_context():
        support = db.session.scalar(sa.select(Role).where(Role.name == "support"))
        assert "billing.view" not in support.permission_names and support.description == "Our helpdesk"
        assert db.session.scalar(sa.select(Role).where(Role.name == "auditor")) is not None


def test_a_permission_restored_by_sync_is_usable_at_once_despite_the_cache(app, runner):
    with app.app_context():
        admin = make_user(role="admin")
        assert rbac.can(admin, "billing.refund")  # now cached
        db.session.execute(sa.delete(Permission).where(Permission.name == "billing.refund"))
        db.session.commit()
        rbac.forget_role_permissions(admin.role_id)
        assert not rbac.can(admin, "billing.refund")  # cached again, without it

    runner.invoke(args=["rbac", "sync"])

    with app.app_context():
        assert rbac.can(db.session.merge(admin), "billing.refund")


def test_only_a_signed_in_user_with_the_permission_can(app):
    with app.app_context():
        support, customer = make_user(role="support"), make_user(role="customer")
        assert rbac.can(support, "billing.view") and not rbac.can(support, "billing.refund")
        assert not rbac.can(customer, "admin.access")
        assert not rbac.can(AnonymousUserMixin(), "admin.access") and not rbac.can(None, "admin.access")
