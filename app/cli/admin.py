"""flask stats · flask jobs retry-failed · flask fee set: the admin pages' actions, through the same services."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import with_appcontext

from app.errors import AppError
from app.outbox import QUEUES


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def stats_command(as_json: bool) -> None:
    """The dashboard figures."""
    from app.admin import queues, stats
    from app.money import format_money

    figures = stats.all_figures()
    try:
        figures["queues"] = {
            q.name: {"queued": q.queued, "failed": q.failed, "scheduled": q.scheduled} for q in queues.queue_states()
        }
    except Exception as exc:  # Redis down: the database figures still print
        figures["queues"] = {"error": str(exc)}
    figures["outbox"] = queues.outbox_backlog()
    if as_json:
        click.echo(json.dumps(figures, default=str, indent=2, sort_keys=True))
        return
    conversion = figures["trial_conversion_percent"]
    lines = [
        f"users:                {figures['users_total']} (+{figures['users_new_this_week']} this week)",
        f"active subscriptions: {figures['subscriptions_active']} ({figures['subscriptions_past_due']} past due)",
        f"trials running:       {figures['subscriptions_trial']}",
        f"trial → paid:         {f'{conversion}%' if conversion is not None else '—'}"
        f" ({figures['trials_converted']} of {figures['trials_ended']})",
        "MRR:                  " + (", ".join(format_money(v, c) for c, v in figures["mrr"].items()) or "0"),
        f"outbox pending:       {figures['outbox']['pending']}",
    ]
    for name, state in figures["queues"].items():
        lines.append(f"queue {name:<15} {state}")
    click.echo("\n".join(lines))


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs."""


@jobs_group.command("retry-failed")
@click.option("--queue", type=click.Choice(QUEUES), help="Only this queue.")
@with_appcontext
def retry_failed_command(queue: str | None) -> None:
    """Queue every failed job again (each audited as job.retried, as the admin page's retry is)."""
    from app.admin.services import retry_failed_jobs

    count = retry_failed_jobs(queue)
    click.echo(f"requeued {count} failed job(s){f' from {queue}' if queue else ''}")


@click.group("fee")
def fee_group() -> None:
    """The platform fee."""


@fee_group.command("set")
@click.argument("percent")
@click.option("--reason", required=True, help="Why the fee changes (kept in its history).")
@with_appcontext
def fee_set_command(percent: str, reason: str) -> None:
    """Change the platform fee, as the admin fee page does (history, audit, cache cleared)."""
    from app.admin.services import set_fee

    try:
        change = set_fee(percent, reason=reason, actor_id=None)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"the platform fee is now {change.new_percent}% (was {change.old_percent}%)")


@fee_group.command("seller")
@click.option("--name", required=True, help="The legal name invoices are issued in.")
@click.option("--address", required=True, help='The address, lines separated by "\\n" or real newlines.')
@click.option("--tax-id", default="", help="VAT or other tax id (optional).")
@with_appcontext
def fee_seller_command(name: str, address: str, tax_id: str) -> None:
    """Set the seller details printed on invoices, as the fee page's second form does (audited, cache cleared)."""
    from app.admin.services import set_seller_details
    from app.billing.seller import SellerDetails

    try:
        saved = set_seller_details(SellerDetails(name, address.replace("\\n", "\n"), tax_id), actor_id=None)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"invoices numbered from now on are issued by {saved.name}")


def register(app: Flask) -> None:
    for command in (stats_command, jobs_group, fee_group):
        app.cli.add_command(command)
