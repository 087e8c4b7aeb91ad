"""The cart: add (from a product page), view, change a quantity, remove. Works for visitors too."""

from __future__ import annotations

from flask import flash
from flask_login import current_user
from werkzeug.wrappers import Response

from app.billing import bp
from app.billing.forms import CartAddForm, QuantityForm, first_errors, parse_id, require_valid
from app.billing.routes import back_to, wants_fragment
from app.billing.services import cart as cart_service
from app.errors import AppError
from app.templating import render_page
from app.web import status_of


def _render(status: int = 200, **context: object) -> tuple[str, int]:
    return render_page("billing/cart.html", "cart_body", view=cart_service.view(current_user), **context), status


@bp.post("/cart/add")
def cart_add() -> Response:
    form = CartAddForm()
    require_valid(form)
    message = cart_service.add(current_user, *form.command())
    flash(message, "success")
    return back_to("billing.cart")


@bp.get("/cart")
def cart() -> tuple[str, int]:
    return _render()


@bp.post("/cart/<product_id>/quantity")
def cart_update(product_id: str) -> Response | tuple[str, int]:
    form = QuantityForm()
    if not form.validate():  # the message goes beside that line's quantity
        return _render(400, line_errors={product_id: first_errors(form)["quantity"]})
    try:
        message = cart_service.update_quantity(current_user, parse_id(product_id, "product"), form.value)
    except AppError as exc:
        if status_of(exc) >= 500:
            raise
        # Re-render the cart with the message beside that line's quantity.
        return _render(status_of(exc), line_errors={product_id: exc.message})
    if wants_fragment():
        return _render(notice=message)
    flash(message, "success")
    return back_to("billing.cart")


@bp.post("/cart/<product_id>/remove")
def cart_remove(product_id: str) -> Response | tuple[str, int]:
    message = cart_service.remove(current_user, parse_id(product_id, "product"))
    if wants_fragment():
        return _render(notice=message)
    flash(message, "success")
    return back_to("billing.cart")
