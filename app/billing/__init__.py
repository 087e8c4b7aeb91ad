"""Billing: trials, the cart, checkout, invoices, payments and the subscription lifecycle."""

from flask import Blueprint

bp = Blueprint("billing", __name__)

# Registers the views; imported as a package so `app.billing.cart` etc. stay the service modules.
from app.billing import routes  # noqa: E402,F401
