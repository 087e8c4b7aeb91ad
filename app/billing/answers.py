"""Answers to a product's checkout schema (company name, seats …), per product in one form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from app.catalog.schema import fields, validate_answers

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_answers(schema, data: Mapping) -> tuple[dict, dict[str, str]]:
    """The schema's own checks, plus: no control characters (Postgres cannot store NUL in JSON)."""
    answers, errors = validate_answers(schema, data)
    labels = {f.name: f.label for f in fields(schema)}
    for name, value in list(answers.items()):
        if isinstance(value, str) and _UNSTORABLE.search(value):
            errors[name] = f"{labels.get(name, name)} contains characters we can't store"
            answers.pop(name)
    return answers, errors


def prefix_for(product) -> str:
    """Field-name prefix for a product's questions, so two products may ask the same thing."""
    return f"a-{product.slug}-"


def _strip(form: Mapping, prefix: str) -> dict:
    return {name[len(prefix) :]: form.get(name) for name in form.keys() if name.startswith(prefix)}


def collect_answers(view, form: Mapping) -> tuple[dict[uuid.UUID, dict], dict[uuid.UUID, dict[str, str]]]:
    """Validate every cart product's questions. Returns (answers by product, errors by product)."""
    answers, errors = {}, {}
    for line in view.lines:
        schema = line.product.product_schema if line.product else None
        if not line.priced or not fields(schema):
            continue
        clean, problems = check_answers(schema, _strip(form, prefix_for(line.product)))
        answers[line.product.id] = clean
        if problems:
            errors[line.product.id] = problems
    return answers, errors
