"""flask billing run [--dry-run] · flask billing reconcile."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

billing_group = AppGroup("billing", help="Subscriptions and payments.")


@billing_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only count what each step would act on.")
@click.option("--batch-size", type=click.IntRange(1, 5000), default=None, help="Rows locked per batch.")
def run_command(dry_run: bool, batch_size: int | None) -> None:
    """Run the lifecycle now: reminders, trial ends, renewals, retries, cancellations, reconciliation."""
    from app.billing.services import lifecycle

    report = lifecycle.run(dry_run=dry_run, size=batch_size)
    click.echo("billing run" + (" (dry run: nothing changed)" if dry_run else "") + ":")
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
