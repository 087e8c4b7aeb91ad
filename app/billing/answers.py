"""Answers to a product's checkout schema (company name, seats …), per product in one form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.catalog.schema import fields, validate_answers
from app.models.catalog import Product

if TYPE_CHECKING:
    from app.billing.services.cart import CartView

# The checked answers of each cart product, by product id (values as the schema typed them).
Answers = dict[uuid.UUID, dict[str, Any]]

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_answers(schema: Any, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The schema's own checks, plus: no control characters (Postgres cannot store NUL in JSON)."""
    answers, errors = validate_answers(schema, data)
    labels = {f.name: f.label for f in fields(schema)}
    for name, value in list(answers.items()):
        if isinstance(value, str) and _UNSTORABLE.search(value):
            errors[name] = f"{labels.get(name, name)} contains characters we can't store"
            answers.pop(name)
    return answers, errors


def prefix_for(product: Product) -> str:
    """Field-name prefix for a product's questions, so two products may ask the same thing."""
    return f"a-{product.slug}-"


def posted_answers(products: list[Product], form: Mapping[str, str]) -> dict[uuid.UUID, dict[str, str]]:
    """The answers posted for each product's questions (fields named with its `prefix_for`), by product id."""
    found = {}
    for product in products:
        prefix = prefix_for(product)
        found[product.id] = {name[len(prefix) :]: form.get(name, "") for name in form if name.startswith(prefix)}
    return found


def collect_answers(
    view: CartView, posted: Mapping[uuid.UUID, Mapping[str, str]]
) -> tuple[Answers, dict[uuid.UUID, dict[str, str]]]:
    """Validate every cart product's questions. Returns (answers by product, errors by product)."""
    answers: Answers = {}
    errors: dict[uuid.UUID, dict[str, str]] = {}
    for line in view.lines:
        if line.product is None:
            continue
        schema = line.product.product_schema
        if not line.priced or not fields(schema):
            continue
        clean, problems = check_answers(schema, posted.get(line.product.id, {}))
        answers[line.product.id] = clean
        if problems:
            errors[line.product.id] = problems
    return answers, errors
