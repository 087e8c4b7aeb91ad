from collections import Counter
from decimal import Decimal

import sqlalchemy as sa

from app.catalog import fees
from app.catalog.schema import check_schema, has_required_fields
from app.extensions import db
from app.models import AuditEvent, Plan, PlatformFee, PlatformFeeChange, Product
from app.models.catalog import BILLING_CYCLES


def _counts():
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Product, Plan, PlatformFeeChange, AuditEvent)
    }


def test_seed_demo_loads_a_realistic_catalog(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "catalog: added 10 products with 130 plans" in result.output
    with app.app_context():
        products = db.session.scalars(sa.select(Product).options(sa.orm.selectinload(Product.plans))).all()
        assert len(products) >= 8 and len({p.category for p in products}) >= 4
        for product in products:
            assert product.tagline and product.description.count("\n\n") >= 1, product.slug
            assert check_schema(product.product_schema) == [] and has_required_fields(product.product_schema)
            tiers = Counter(plan.name for plan in product.plans)
            assert 2 <= len(tiers) <= 3 and set(tiers.values()) == {5}, product.slug
            for tier in tiers:
                by_cycle = {p.billing_cycle: p for p in product.plans if p.name == tier}
                assert set(by_cycle) == set(BILLING_CYCLES)
                monthly = by_cycle["monthly"].price
                assert by_cycle["quarterly"].price < 3 * monthly and by_cycle["yearly"].price < 12 * monthly
                assert by_cycle["half_yearly"].price < 6 * monthly
        plans = [p for product in products for p in product.plans]
        assert any(p.discount_percent > 0 for p in plans) and any(p.trial_days > 0 for p in plans)
        assert all(p.features for p in plans)


def test_seed_demo_twice_changes_nothing(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        before = _counts()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "catalog: nothing new (10 products already there)" in second.output
    assert "platform fee" not in second.output
    with app.app_context():
        assert _counts() == before


def test_seed_demo_sets_a_demo_fee_only_while_the_fee_is_untouched(app, runner):
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        assert fees.current_percent() == Decimal("2.50")
        assert db.session.get(PlatformFee, 1).percent == Decimal("2.50")


def test_seed_demo_keeps_a_fee_an_operator_chose_even_zero(app, runner):
    with app.app_context():
        fees.set_fee("5", actor_id=None, reason="Operator")
        fees.set_fee("0", actor_id=None, reason="Free for launch")
    result = runner.invoke(args=["seed-demo"])
    assert "platform fee" not in result.output
    with app.app_context():
        assert fees.current_percent() == Decimal("0.00")


def test_seed_demo_leaves_an_edited_demo_product_alone(app, runner):
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        db.session.execute(sa.update(Product).where(Product.slug == "vaultline").values(name="Vaultline Pro"))
        db.session.commit()
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        assert db.session.scalar(sa.select(Product.name).where(Product.slug == "vaultline")) == "Vaultline Pro"


def test_the_demo_catalog_renders_every_product_page(app, client, runner):
    runner.invoke(args=["seed-demo"])
    with app.app_context():
        slugs = db.session.scalars(sa.select(Product.slug)).all()
    catalog = client.get("/products/").get_data(as_text=True)
    for slug in slugs:
        assert f'href="/products/{slug}"' in catalog
        for cycle in BILLING_CYCLES:
            page = client.get(f"/products/{slug}?cycle={cycle}")
            assert page.status_code == 200 and "data-plan-price" in page.get_data(as_text=True)
    assert 'src="/static/img/products/pipeline.svg"' in catalog
