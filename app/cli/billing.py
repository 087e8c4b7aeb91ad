"""flask billing run [--dry-run]."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

billing_group = AppGroup("billing", help="Subscriptions and payments.")


@billing_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only count what each step would act on.")
@click.option("--batch-size", type=click.IntRange(1, 5000), default=None, help="Rows locked per batch.")
def run_command(dry_run: bool, batch_size: int | None) -> None:
    """Run the lifecycle now: reminders, trial ends, renewals, retries, cancellations, reconciliation."""
    from app.billing import lifecycle

    report = lifecycle.run(dry_run=dry_run, size=batch_size)
    click.echo("billing run" + (" (dry run: nothing changed)" if dry_run else "") + ":")
    for line in report.lines():
        click.echo(f"  {line}")


def register(app: Flask) -> None:
    app.cli.add_command(billing_group)
