"""flask create-admin · cleanup-otps · purge-sessions · users deactivate|set-role · rbac sync."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from app import rbac
from app.auth import otp, sessions
from app.auth import services as auth_services
from app.errors import AppError
from app.models.user import User


def _user(email: str) -> User:
    user = auth_services.user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    return user


@click.command("create-admin")
@click.option("--email", prompt=True, help="The admin's email address.")
@click.option("--username", prompt=True, help="3–30 characters: a-z, 0-9, dots and underscores.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="10–128 characters, not a common password (prompted, hidden, when left out).",
)
@with_appcontext
def create_admin_command(email: str, username: str, password: str) -> None:
    """Create a verified user with the admin role."""
    try:
        user = auth_services.create_admin(email=email, username=username, password=password)
    except AppError as exc:
        raise click.ClickException(f"{exc.field or 'input'}: {exc.message}") from None
    click.echo(f"created admin {user.username} <{user.email}>")


@click.command("cleanup-otps")
@with_appcontext
def cleanup_otps_command() -> None:
    """Delete used, void and expired one-time codes (the hourly job does this too)."""
    click.echo(f"deleted {otp.cleanup_otps()} one-time code(s)")


@click.command("purge-sessions")
@with_appcontext
def purge_sessions_command() -> None:
    """Delete ended sessions and those idle past SESSION_IDLE_DAYS (the daily job does this too)."""
    click.echo(f"deleted {sessions.purge_sessions()} ended or idle session(s)")


@click.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate_command(email: str) -> None:
    """Deactivate an account and end all its sessions."""
    user = _user(email)
    if not user.is_active:
        raise click.ClickException(f"{user.email} is already deactivated")
    try:
        ended = auth_services.deactivate(user)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"deactivated {user.email} and ended {ended} session(s)")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role")
@with_appcontext
def set_role_command(email: str, role: str) -> None:
    """Give a user another role (customer, support, admin, …)."""
    user = _user(email)
    try:
        auth_services.change_role(user, role)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{user.email} now has the role {role}")


@click.group("rbac")
def rbac_group() -> None:
    """Roles and permissions."""


@rbac_group.command("sync")
@with_appcontext
def rbac_sync_command() -> None:
    """Make the database hold the roles and permissions declared in app/rbac.py (idempotent)."""
    report = rbac.sync_now()
    if not report.changed:
        click.echo("roles and permissions already match app/rbac.py")
    for what, names in report.summary().items():
        if names:
            click.echo(f"{what.replace('_', ' ')}: {', '.join(names)}")


def register(app: Flask) -> None:
    for command in (create_admin_command, cleanup_otps_command, purge_sessions_command, users_group, rbac_group):
        app.cli.add_command(command)
