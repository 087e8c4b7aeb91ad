"""Operator commands (`flask …`). Each module adds its commands in `register`."""
from flask import Flask


def register(app: Flask) -> None:
    from app.cli import billing, jobs, seed

    billing.register(app)
    jobs.register(app)
    seed.register(app)
