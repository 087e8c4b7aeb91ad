"""Deleting a product while somebody subscribes to it: one of the two wins, never both."""

import threading

import pytest
import sqlalchemy as sa

from app.catalog import services
from app.errors import Conflict
from app.extensions import db
from app.models import Plan, Product, Subscription
from tests.factories import ProductFactory
from tests.support.users import make_user


@pytest.mark.postgres
def test_a_subscription_racing_a_delete_leaves_either_the_product_with_it_or_neither(app):
    with app.app_context():
        user_id = make_user(username="racer").id
    for round_ in range(12):
        with app.app_context():
            product = ProductFactory(slug=f"race-{round_}", plans__cycles=("monthly",))
            product_id = product.id
            plan_id = db.session.scalar(sa.select(Plan.id).where(Plan.product_id == product_id))
        result = _race_delete_against_subscribe(app, user_id, product_id, plan_id)
        with app.app_context():
            exists = db.session.get(Product, product_id) is not None
            subscribed = db.session.scalar(
                sa.select(sa.func.count()).select_from(Subscription).where(Subscription.product_id == product_id)
            )
        assert (result, exists, subscribed) in [
            ({"delete": "deleted", "subscribe": "no such plan"}, False, 0),
            ({"delete": "refused", "subscribe": "subscribed"}, True, 1),
        ], result


def _race_delete_against_subscribe(app, user_id, product_id, plan_id) -> dict[str, str]:
    """Both threads pass the barrier together; each records how its side ended."""
    start = threading.Barrier(2)
    result: dict[str, str] = {}

    def delete():
        with app.app_context():
            start.wait()
            try:
                services.delete_product(product_id)
                result["delete"] = "deleted"
            except Conflict:
                result["delete"] = "refused"

    def subscribe():
        with app.app_context():
            start.wait()
            try:
                db.session.add(Subscription(user_id=user_id, plan_id=plan_id, product_id=product_id, status="active"))
                db.session.commit()
                result["subscribe"] = "subscribed"
            except sa.exc.IntegrityError:
                db.session.rollback()
                result["subscribe"] = "no such plan"

    threads = [threading.Thread(target=delete), threading.Thread(target=subscribe)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return result
