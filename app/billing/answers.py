"""Answers to a product's checkout schema (company name, seats …), per product in one form."""
from __future__ import annotations

import uuid
from collections.abc import Mapping

from app.catalog.schema import fields, validate_answers


def prefix_for(product) -> str:
    """Field-name prefix for a product's questions, so two products may ask the same thing."""
    return f"a-{product.slug}-"


def _strip(form: Mapping, prefix: str) -> dict:
    return {name[len(prefix):]: form.get(name) for name in form.keys() if name.startswith(prefix)}


def collect_answers(view, form: Mapping) -> tuple[dict[uuid.UUID, dict], dict[uuid.UUID, dict[str, str]]]:
    """Validate every cart product's questions. Returns (answers by product, errors by product)."""
    answers, errors = {}, {}
    for line in view.lines:
        schema = line.product.product_schema if line.product else None
        if not line.priced or not fields(schema):
            continue
        clean, problems = validate_answers(schema, _strip(form, prefix_for(line.product)))
        answers[line.product.id] = clean
        if problems:
            errors[line.product.id] = problems
    return answers, errors
