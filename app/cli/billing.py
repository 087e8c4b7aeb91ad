"""flask billing run [--dry-run] [--at INSTANT] · flask billing reconcile · flask billing coupon create / add-code."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

billing_group = AppGroup("billing", help="Subscriptions and payments.")


class Instant(click.ParamType[datetime]):
    """An ISO 8601 instant such as 2027-01-15T00:00:00Z; one without a zone is UTC."""

    name = "instant"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an instant; write it like 2027-01-15T00:00:00Z", param, ctx)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


@billing_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only count what each step would act on.")
@click.option("--batch-size", type=click.IntRange(1, 5000), default=None, help="Rows locked per batch.")
@click.option(
    "--at",
    "at",
    type=Instant(),
    default=None,
    help="Run as of this instant (time travel for testing), e.g. 2027-01-15T00:00:00Z; never before the latest run.",
)
def run_command(dry_run: bool, batch_size: int | None, at: datetime | None) -> None:
    """Run the lifecycle now (or --at an instant): reminders, trial ends, pauses, renewals, retries,
    cancellations, reconciliation."""
    from app.billing.services import lifecycle
    from app.errors import AppError

    try:
        report = lifecycle.run(at, dry_run=dry_run, size=batch_size, travel=at is not None)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    as_of = f" as of {at.strftime('%Y-%m-%dT%H:%M:%SZ')}" if at else ""
    click.echo("billing run" + as_of + (" (dry run: nothing changed)" if dry_run else "") + ":")
    for line in report.lines():
        click.echo(f"  {line}")


@billing_group.command("reconcile")
def reconcile_command() -> None:
    """Settle payments left pending with the gateway's answer: complete or refund orders charged but unsettled."""
    from app.billing.services import reconcile
    from app.billing.services.lifecycle import Report
    from app.models.base import utcnow

    report = Report()
    try:
        reconcile.run(utcnow(), report)
    except sa.exc.DBAPIError as exc:
        raise click.ClickException(
            f"the database is unavailable ({exc.__class__.__name__}); nothing more was "
            "settled, run it again when it is back"
        ) from None
    click.echo("billing reconcile:")
    for line in report.lines():
        click.echo(f"  {line}")
    for mismatch in reconcile.current_mismatches():
        click.echo(f"  mismatch {mismatch.reference} ({mismatch.problem}): {mismatch.detail}")
    if report[reconcile.UNAVAILABLE]:
        raise click.ClickException(
            f"the payment service did not answer for {report[reconcile.UNAVAILABLE]} "
            "payment(s); they stay pending for the next run"
        )


@billing_group.group("coupon")
def coupon_group() -> None:
    """Coupons and their promotion codes."""


@coupon_group.command("create")
@click.option("--code", required=True, help="The promotion code customers type (case-insensitive).")
@click.option("--percent-off", type=click.IntRange(1, 100), default=None, help="Percent off, 1 to 100.")
@click.option("--amount-off", type=click.IntRange(1), default=None, help="Amount off in minor units (cents).")
@click.option("--currency", default=None, help="The currency of --amount-off, such as USD.")
@click.option("--duration", type=click.Choice(["once", "repeating", "forever"]), required=True)
@click.option("--cycles", type=click.IntRange(1, 120), default=None, help="Invoices discounted (repeating).")
@click.option("--max-redemptions", type=click.IntRange(1), default=None)
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="YYYY-MM-DD (UTC).")
@click.option("--first-purchase-only", is_flag=True, help="Only for customers who never paid an invoice.")
def coupon_create_command(
    code: str,
    percent_off: int | None,
    amount_off: int | None,
    currency: str | None,
    duration: str,
    cycles: int | None,
    max_redemptions: int | None,
    expires: datetime | None,
    first_purchase_only: bool,
) -> None:
    """Create a coupon and its first promotion code."""
    from app.billing import coupons
    from app.errors import ValidationError

    if (percent_off is None) == (amount_off is None):
        raise click.UsageError("give either --percent-off or --amount-off (with --currency)")
    values = coupons.CouponValues(
        code=code,
        duration=duration,
        percent_off=Decimal(percent_off) if percent_off is not None else None,
        amount_off=amount_off,
        currency=(currency or "").strip().upper() or None,
        cycles=cycles,
        max_redemptions=max_redemptions,
        # Valid through the day given: it expires at the end of it.
        expires_at=datetime.combine(expires.date(), time.max, tzinfo=UTC) if expires else None,
        first_purchase_only=first_purchase_only,
    )
    try:
        created = coupons.create(values, actor_id=None)
    except ValidationError as exc:
        raise click.ClickException(_option_errors(exc.errors)) from None
    click.echo(f"Created coupon {created.coupon_id} with promotion code {created.code}.")


@coupon_group.command("add-code")
@click.option("--coupon", "coupon_ref", required=True, help="The coupon: its id, or one of its codes.")
@click.option("--code", required=True, help="The new promotion code (case-insensitive).")
@click.option("--max-redemptions", type=click.IntRange(1), default=None, help="How often this code can be used.")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="YYYY-MM-DD (UTC).")
def coupon_add_code_command(coupon_ref: str, code: str, max_redemptions: int | None, expires: datetime | None) -> None:
    """Add another promotion code to an existing coupon."""
    from app.billing import coupons
    from app.errors import ValidationError

    coupon_id = coupons.coupon_id_for(coupon_ref)
    if coupon_id is None:
        raise click.ClickException(f"--coupon: no coupon has the id or code {coupon_ref!r}.")
    values = coupons.CodeValues(
        code=code,
        max_redemptions=max_redemptions,
        expires_at=datetime.combine(expires.date(), time.max, tzinfo=UTC) if expires else None,
    )
    try:
        added = coupons.add_code(coupon_id, values, actor_id=None)
    except ValidationError as exc:
        raise click.ClickException(_option_errors(exc.errors)) from None
    click.echo(f"Added promotion code {added.code} to coupon {added.coupon_id}.")


def _option_errors(errors: dict[str, str]) -> str:
    """The coupon service's field errors, named as this group's options."""
    options = {"expires_at": "expires"}
    return "; ".join(f"--{options.get(k, k).replace('_', '-')}: {v}" for k, v in errors.items())


def register(app: Flask) -> None:
    app.cli.add_command(billing_group)
