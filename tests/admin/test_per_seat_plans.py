"""The admin prices a plan per seat, with its limits; limits that make no sense are explained beside the field."""

import sqlalchemy as sa

from app.extensions import db
from app.models.catalog import Plan, Product
from tests.factories import ProductFactory


def text(response) -> str:
    return response.get_data(as_text=True)


def test_an_admin_prices_a_plan_per_seat_with_limits_and_bad_limits_are_explained(app, admin_client):
    with app.app_context():
        product = ProductFactory(name="Seats Desk")
        product_id = product.id
        db.session.commit()
    url = f"/admin/products/{product_id}/plans/new"
    base = {
        "name": "Team",
        "billing_cycle": "monthly",
        "price": "10.00",
        "currency": "EUR",
        "per_seat": "on",
        "is_active": "on",
    }
    response = admin_client.post(url, data={**base, "min_seats": "5", "max_seats": "3"})
    assert response.status_code == 400 and "Maximum seats must be at least the minimum" in text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Plan).filter_by(product_id=product_id)) == 0
    response = admin_client.post(url, data={**base, "min_seats": "2", "max_seats": "20"})
    assert response.status_code == 303, text(response)
    with app.app_context():
        plan = db.session.scalars(sa.select(Plan).filter_by(product_id=product_id)).one()
        assert (plan.per_seat, plan.min_seats, plan.max_seats) == (True, 2, 20)
        slug = db.session.get(Product, product_id).slug
    assert "per seat, 2–20" in text(admin_client.get(f"/admin/products/{product_id}"))
    assert "per seat / month" in text(admin_client.get(f"/products/{slug}?cycle=monthly"))
