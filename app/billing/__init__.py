"""Billing: trials, the cart, checkout, invoices, payments and the subscription lifecycle."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from flask_login import user_logged_in

bp = Blueprint("billing", __name__)

# Registers the views (app.billing.routes); what they call lives in app.billing.services.
from app.billing import routes  # noqa: E402,F401


@bp.record_once
def _connect_signals(state: BlueprintSetupState) -> None:
    """The visitor's cart joins the account's at login (connected here, not as a side effect of an import)."""
    from app.billing.services.cart import merge_on_login

    user_logged_in.connect(merge_on_login)
