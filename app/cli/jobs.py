"""flask worker · flask scheduler · flask outbox relay."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.outbox import QUEUES, relay_pending
from config import ConfigError


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker (queues in priority order; default: high default low)."""
    from app.workers import limit_idle_transactions, run_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, not in Flask's types
    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise click.UsageError(f"unknown queue(s): {', '.join(unknown)}; choose from {', '.join(QUEUES)}")
    if app.config["JOBS_INLINE"]:
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, there is nothing to work on.")
    queues = queues or QUEUES
    click.echo(f"worker: queues {', '.join(queues)} on {app.config['REDIS_URL']}")
    limit_idle_transactions(app)
    # No embedded RQ scheduler: `flask scheduler` releases retries (and survives Redis outages).
    try:
        run_worker(app, queues, burst=burst)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("scheduler")
@click.option("--loops", type=int, default=None, hidden=True, help="Stop after this many ticks (for tests).")
@with_appcontext
def scheduler_command(loops: int | None) -> None:
    """Run the periodic jobs, the outbox relay and job retries (one leader at a time)."""
    from app.scheduler import Scheduler
    from app.workers import limit_idle_transactions

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # LocalProxy's, not in Flask's types
    if app.config["JOBS_INLINE"]:
        raise click.ClickException("REDIS_URL is not set: the scheduler needs Redis.")
    limit_idle_transactions(app)
    scheduler = Scheduler(app)
    click.echo(f"scheduler: {len(scheduler.periodic)} periodic jobs; relaying the outbox")
    scheduler.run(max_loops=loops)


@click.group("outbox")
def outbox_group() -> None:
    """The job outbox."""


@outbox_group.command("relay")
@with_appcontext
def outbox_relay_command() -> None:
    """Hand pending outbox rows to the queue now."""
    count = relay_pending()
    click.echo(f"relayed {count} job(s)")


def register(app: Flask) -> None:
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(outbox_group)
