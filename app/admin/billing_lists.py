"""Filters for the subscription, invoice and transaction lists (shared by each page and its CSV export).

Each `*_query()` reads the request's filters and returns (query, args, errors): nonsense values
for a choice are ignored, a malformed date is reported next to its field (the page answers 400).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import request
from sqlalchemy.sql import visitors

from app.admin.listing import arg_choice, arg_q, people_pattern
from app.extensions import db
from app.models.billing import (
    INVOICE_KINDS,
    INVOICE_STATUSES,
    SUBSCRIPTION_STATUSES,
    TRANSACTION_KINDS,
    TRANSACTION_STATUSES,
    Invoice,
    Subscription,
    Transaction,
)
from app.models.catalog import Plan, Product
from app.models.user import User

SUBSCRIPTION_SORTS = {
    "started_at": Subscription.started_at,
    "status": Subscription.status,
    "period_end": Subscription.current_period_end,
    "user": User.username,
    "product": Product.name,
}
INVOICE_SORTS = {
    "issued_at": Invoice.issued_at,
    "number": Invoice.number,
    "total": Invoice.total,
    "status": Invoice.status,
    "due_at": Invoice.due_at,
    "user": User.username,
}
TRANSACTION_SORTS = {
    "created_at": Transaction.created_at,
    "amount": Transaction.amount,
    "status": Transaction.status,
    "user": User.username,
}


def _user_search(query: sa.Select, q: str) -> sa.Select:
    if not q:
        return query
    pattern = people_pattern(q)
    return query.where(sa.or_(User.email.like(pattern), User.username.like(pattern)))


def _date_arg(name: str, errors: dict) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Use a date like 2026-03-31."
        return None


def _date_range(query: sa.Select, column, args: dict, errors: dict) -> sa.Select:
    start, end = _date_arg("from", errors), _date_arg("to", errors)
    if start and end and start > end:
        errors["to"] = "The end date is before the start date."
        return query
    if start:
        query = query.where(column >= datetime.combine(start, time.min, UTC))
        args["from"] = start.isoformat()
    if end:
        query = query.where(column < datetime.combine(end + timedelta(days=1), time.min, UTC))
        args["to"] = end.isoformat()
    return query


def product_choices() -> list[tuple[str, str]]:
    return [
        (str(pid), name)
        for pid, name in db.session.execute(sa.select(Product.id, Product.name).order_by(Product.name)).all()
    ]


def _product_arg() -> uuid.UUID | None:
    try:
        return uuid.UUID((request.args.get("product") or "")[:36])
    except ValueError:
        return None


def subscriptions_query() -> tuple[sa.Select, dict, dict]:
    q = arg_q()
    status = arg_choice("status", SUBSCRIPTION_STATUSES)
    product_id = _product_arg()
    query = (
        sa.select(Subscription, User, Product, Plan)
        .join(User, User.id == Subscription.user_id)
        .join(Product, Product.id == Subscription.product_id)
        .join(Plan, Plan.id == Subscription.plan_id)
    )
    query = _user_search(query, q)
    if status:
        query = query.where(Subscription.status == status)
    if product_id:
        query = query.where(Subscription.product_id == product_id)
    return query, {"q": q, "status": status, "product": str(product_id) if product_id else ""}, {}


def _status_kind_dates(query: sa.Select, model, statuses, kinds, date_column) -> tuple[sa.Select, dict, dict]:
    status, kind = arg_choice("status", statuses), arg_choice("kind", kinds)
    if status:
        query = query.where(model.status == status)
    if kind:
        query = query.where(model.kind == kind)
    args, errors = {"status": status, "kind": kind}, {}
    return _date_range(query, date_column, args, errors), args, errors


def invoices_query() -> tuple[sa.Select, dict, dict]:
    q = arg_q()
    query = sa.select(Invoice, User).join(User, User.id == Invoice.user_id)
    if q:
        pattern = people_pattern(q)
        query = query.where(
            sa.or_(User.email.like(pattern), User.username.like(pattern), sa.func.lower(Invoice.number).like(pattern))
        )
    query, args, errors = _status_kind_dates(query, Invoice, INVOICE_STATUSES, INVOICE_KINDS, Invoice.issued_at)
    return query, {"q": q, **args}, errors


def transactions_query() -> tuple[sa.Select, dict, dict]:
    q = arg_q()
    query = _user_search(sa.select(Transaction, User).join(User, User.id == Transaction.user_id), q)
    query, args, errors = _status_kind_dates(
        query, Transaction, TRANSACTION_STATUSES, TRANSACTION_KINDS, Transaction.created_at
    )
    return query, {"q": q, **args}, errors


def count_without_user_join(query: sa.Select, model) -> sa.Select | None:
    """COUNT over `model` alone when no filter needs the users table (most list views).

    The joined count touches a user row for every invoice; with 200,000 invoices that was most
    of the page's time. None: the filters need the join, count the full query.
    """
    where = query.whereclause
    if where is not None and any(
        isinstance(element, sa.Column) and element.table is User.__table__ for element in visitors.iterate(where)
    ):
        return None
    count = sa.select(sa.func.count()).select_from(model)
    return count.where(where) if where is not None else count
