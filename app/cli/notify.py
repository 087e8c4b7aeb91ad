"""flask notify broadcast · flask notify purge."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.errors import AppError
from app.extensions import db
from app.models.catalog import Product


@click.group("notify")
def notify_group() -> None:
    """Notifications and announcements."""


@notify_group.command("broadcast")
@click.option("--product", "product_slug", metavar="SLUG", help="Announce to this product's live subscribers.")
@click.option("--all", "to_all", is_flag=True, help="Announce to every active user.")
@click.option("--title", required=True, help="One line, up to 200 characters.")
@click.option("--body", required=True, help="The text; blank lines separate paragraphs.")
@click.option("--link", help="A path on this site (/products/) or an http(s) address.")
@click.option("--no-email", is_flag=True, help="In-app notifications only.")
@with_appcontext
def broadcast_command(
    product_slug: str | None, to_all: bool, title: str, body: str, link: str | None, no_email: bool
) -> None:
    """Announce something to all users or to one product's subscribers (in batches of 500 per job)."""
    from app.notifications.broadcast import BATCH_SIZE, broadcast

    if bool(product_slug) == to_all:
        raise click.UsageError("Choose the audience: --product SLUG or --all (exactly one).")
    product = None
    if product_slug:
        product = db.session.scalar(sa.select(Product).where(Product.slug == product_slug.strip().lower()))
        if product is None:
            raise click.BadParameter(f"no product with the slug {product_slug!r}.", param_hint="--product")
    try:
        announcement = broadcast(title, body, link, product_id=product.id if product else None, email=not no_email)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    audience = f"subscribers of {product.name}" if product else "all active users"
    click.echo(
        f'Announcement {announcement.id}: "{announcement.title}" to {announcement.recipient_count} '
        f"recipient(s) ({audience}), in {announcement.batch_count} job(s) of up to {BATCH_SIZE}; "
        f"email {'off' if no_email else 'on'}."
    )


@notify_group.command("purge")
@with_appcontext
def purge_command() -> None:
    """Delete read notifications past the retention period now (the scheduler does it daily)."""
    from app.notifications.services import purge_read

    days = current_app.config["NOTIFICATION_RETENTION_DAYS"]
    click.echo(f"Deleted {purge_read()} read notification(s) older than {days} days.")


def register(app: Flask) -> None:
    app.cli.add_command(notify_group)
