"""flask billing run [--dry-run] [--at INSTANT] · flask billing reconcile."""

from __future__ import annotations

from datetime import UTC, datetime

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


def register(app: Flask) -> None:
    app.cli.add_command(billing_group)
