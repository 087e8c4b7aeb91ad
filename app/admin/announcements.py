import uuid

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp
from app.auth.permissions import permission_required
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models.catalog import Product
from app.models.notification import Announcement
from app.notifications import broadcast as broadcasting


def _page(form: dict, errors: dict | None = None, preview: bool = False, status: int = 200):
    products = db.session.execute(sa.select(Product.id, Product.name).order_by(Product.name)).all()
    recent = db.session.scalars(sa.select(Announcement).order_by(Announcement.created_at.desc()).limit(20)).all()
    return render_template(
        "admin/announcements.html", form=form, errors=errors or {}, preview=preview, products=products, recent=recent
    ), status


def _form() -> dict:
    return {key: (request.form.get(key) or "").strip() for key in ("title", "body", "link", "audience")}


@bp.get("/announcements")
@permission_required("notifications.broadcast")
def announcements():
    return _page({"audience": "all"})


@bp.post("/announcements")
@permission_required("notifications.broadcast")
def announcements_send():
    form = _form()
    product_id = None
    if form["audience"] not in ("", "all"):
        try:
            product_id = uuid.UUID(form["audience"])
        except ValueError:
            product_id = None
        if product_id is None or db.session.get(Product, product_id) is None:
            return _page(form, {"audience": "Choose everyone or one of the products"}, status=400)
    try:
        if request.form.get("action") == "preview":
            broadcasting.clean_message(form["title"], form["body"], form["link"] or None)
            return _page(form, preview=True)
        announcement = broadcasting.broadcast(
            form["title"], form["body"], form["link"] or None, product_id=product_id, actor_id=current_user.id
        )
    except (ValidationError, NotFound) as exc:
        db.session.rollback()
        return _page(form, {getattr(exc, "field", None) or "body": exc.message}, status=400)
    flash(f"Announcement queued for {announcement.recipient_count} recipient(s).", "success")
    return redirect(url_for("admin.announcements"), 303)
