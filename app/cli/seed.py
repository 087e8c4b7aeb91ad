"""flask seed-demo."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from app.extensions import db


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load realistic demo data (idempotent: a second run changes nothing)."""
    from app.seeds import seed_demo

    lines = seed_demo()
    db.session.commit()
    for line in lines or ["nothing to seed yet"]:
        click.echo(line)


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
