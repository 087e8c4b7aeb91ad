from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog import services
from app.catalog.schema import fields
from app.catalog.services import CatalogInvalid
from app.models import AuditEvent, Plan, Product
from app.web import status_of
from tests.catalog.test_schema_and_fee import SCHEMA


def _product(**changes):
    fields = {
        "slug": "pipewise-crm",
        "name": "Pipewise CRM",
        "category": "CRM",
        "tagline": "Sales pipeline",
        "description": "Deals.",
        "icon": "pipeline",
        "product_schema": SCHEMA,
    }
    return services.save_product(**{**fields, **changes})


def test_saving_a_product_with_a_valid_schema_stores_and_audits_it(app, session):
    product = _product()
    session.expire_all()
    stored = session.scalar(sa.select(Product).where(Product.slug == "pipewise-crm"))
    assert stored.product_schema == {**SCHEMA, "order": list(SCHEMA["properties"])} and stored.id == product.id
    # JSONB sorts keys; the recorded order keeps the checkout form as the schema was written.
    assert [f.name for f in fields(stored.product_schema)] == ["company_name", "seats", "region", "sso", "vat_id"]
    assert (
        session.scalar(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(product.id))) == "product.created"
    )


@pytest.mark.parametrize(
    "schema,message",
    [
        ({"type": "array"}, 'type must be "object"'),
        (
            {"properties": {"seats": {"type": "integer", "minimum": 10, "maximum": 1}}},
            "minimum must not exceed maximum",
        ),
        ({"properties": {"name": {"type": "string", "pattern": "(["}}}, "not a valid regular expression"),
        ({"properties": {"name": {"type": "string"}}, "required": ["nme"]}, "'nme', which is not a property"),
        ("not json", "must be a JSON object"),
        ({"properties": {"a": {"type": "string"}}, "order": ["a", "b"]}, "order must list every property"),
    ],
)
def test_a_product_with_a_bad_schema_is_refused_with_check_schemas_message(app, session, schema, message):
    with pytest.raises(CatalogInvalid) as refused:
        _product(product_schema=schema)
    assert status_of(refused.value) == 400
    assert message in refused.value.errors["product_schema"]
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_updating_a_product_with_a_bad_schema_changes_nothing(app, session):
    product = _product()
    with pytest.raises(CatalogInvalid):
        services.save_product(
            product,
            slug="pipewise-crm",
            name="Renamed",
            category="CRM",
            product_schema={"properties": {"x": {"type": "float"}}},
        )
    session.rollback()
    stored = session.scalar(sa.select(Product).where(Product.id == product.id))
    assert stored.name == "Pipewise CRM" and stored.product_schema["properties"] == SCHEMA["properties"]


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"slug": "Has Spaces"}, "slug"),
        ({"slug": "-dash-first"}, "slug"),
        ({"slug": "x" * 81}, "slug"),
        ({"slug": "ok\x00"}, "slug"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"category": ""}, "category"),
        ({"tagline": "t" * 201}, "tagline"),
        ({"icon": "../../etc/passwd"}, "icon"),
    ],
)
def test_bad_product_fields_get_a_message_per_field_and_nothing_is_saved(app, session, changes, field):
    with pytest.raises(CatalogInvalid) as refused:
        _product(**changes)
    assert field in refused.value.errors
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_two_products_cannot_share_a_slug(app, session):
    _product()
    with pytest.raises(CatalogInvalid) as refused:
        _product(name="Copycat")
    assert "already uses the slug" in refused.value.errors["slug"]


def test_create_plan_stores_money_in_minor_units_with_a_two_decimal_discount(app, session):
    product = _product()
    plan = services.create_plan(
        product,
        name="Growth",
        billing_cycle="yearly",
        price="71100",
        discount_percent="12.5",
        trial_days=14,
        features=["Seats: 25", "Forecasting"],
    )
    stored = session.get(Plan, plan.id)
    assert (stored.price, stored.discount_percent, stored.final_price) == (
        71100,
        Decimal("12.50"),
        62212,
    )  # discount 8887.5 → 8888
    assert stored.features == ["Seats: 25", "Forecasting"] and stored.currency == "USD"


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"billing_cycle": "fortnightly"}, "billing_cycle"),
        ({"price": -1}, "price"),
        ({"price": "12.50"}, "price"),
        ({"price": "abc"}, "price"),
        ({"price": 10**13}, "price"),
        ({"price": True}, "price"),
        ({"discount_percent": "100.01"}, "discount_percent"),
        ({"discount_percent": "2.555"}, "discount_percent"),
        ({"discount_percent": "NaN"}, "discount_percent"),
        ({"discount_percent": "ten"}, "discount_percent"),
        ({"trial_days": -3}, "trial_days"),
        ({"trial_days": 366}, "trial_days"),
        ({"currency": "dollars"}, "currency"),
        ({"name": ""}, "name"),
        ({"features": "Seats: 5"}, "features"),
        ({"features": ["ok", ""]}, "features"),
    ],
)
def test_bad_plan_values_are_refused_and_change_nothing(app, session, changes, field):
    product = _product()
    values = {"name": "Growth", "billing_cycle": "monthly", "price": 7900, **changes}
    with pytest.raises(CatalogInvalid) as refused:
        services.create_plan(product, **values)
    assert field in refused.value.errors
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Plan)) == 0
