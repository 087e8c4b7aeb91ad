"""Operator commands (`flask …`). Each module adds its commands in `register`."""

from flask import Flask


def register(app: Flask) -> None:
    from app.cli import admin, billing, jobs, notify, seed, users

    for module in (admin, billing, jobs, notify, seed, users):
        module.register(app)
