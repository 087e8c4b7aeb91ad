"""Billing: trials, the cart, checkout, invoices, payments and the subscription lifecycle."""
from flask import Blueprint

bp = Blueprint("billing", __name__)

from app.billing.routes import cart, checkout, invoices, register_filters, subscriptions, webhook  # noqa: E402,F401

register_filters(bp)
