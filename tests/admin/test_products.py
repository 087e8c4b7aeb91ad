"""Products and plans in the admin: create, edit, retire (never delete what has subscriptions), the schema editor."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog import services
from app.catalog.demo import bulk_load_catalog
from app.extensions import db
from app.models import AuditEvent, Plan, Product, Subscription
from tests.factories import ProductFactory
from tests.support.users import make_user

SCHEMA_JSON = """{
  "type": "object",
  "properties": {
    "company_name": {"type": "string", "title": "Company name", "minLength": 2, "maxLength": 100},
    "seats": {"type": "integer", "title": "Seats", "minimum": 1, "maximum": 500, "default": 5},
    "region": {"type": "string", "title": "Data region", "enum": ["eu", "us"]}
  },
  "required": ["company_name", "seats"]
}"""
PRODUCT_FORM = {
    "slug": "quasar-notes",
    "name": "Quasar Notes",
    "tagline": "Notes for teams",
    "category": "Productivity",
    "description": "Shared notebooks.",
    "icon": "",
    "product_schema": SCHEMA_JSON,
    "is_active": "on",
}
PLAN_FORM = {
    "name": "Team",
    "billing_cycle": "monthly",
    "price": "49.99",
    "currency": "USD",
    "discount_percent": "12.5",
    "trial_days": "14",
    "features": "Seats: up to 10\n\n  Email support  \n",
    "sort_order": "",
    "is_active": "on",
}


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def actions(target_id) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_id == str(target_id)).order_by(AuditEvent.created_at)
        )
    )


def product_named(slug: str) -> Product:
    db.session.expire_all()
    return db.session.scalar(sa.select(Product).where(Product.slug == slug))


def subscribe(product_id, plan_id) -> Subscription:
    """Someone subscribed (as checkout will do): enough to make the plan and product undeletable."""
    subscription = Subscription(user_id=make_user().id, plan_id=plan_id, product_id=product_id, status="active")
    db.session.add(subscription)
    db.session.commit()
    return subscription


@pytest.fixture
def shop(app):
    """A product with a monthly and a yearly plan; ids only, so tests read fresh rows."""
    with app.app_context():
        # Through the catalog services, as the admin pages make them: the audit trail starts with their creation.
        product = services.save_product(slug="pipewise-crm", name="Pipewise CRM", category="CRM")
        plans = {
            cycle: services.create_plan(
                product,
                name="Basic",
                billing_cycle=cycle,
                price=price,
                trial_days=14,
                features=["Seats: 5", "Email support"],
                sort_order=0,
            ).id
            for cycle, price in (("monthly", 1000), ("yearly", 10000))
        }
        product_id = product.id
    return product_id, plans["monthly"], plans["yearly"]


def test_admin_creates_a_product_with_a_schema_and_it_is_audited(app, admin_client):
    response = admin_client.post("/admin/products/new", data=PRODUCT_FORM)
    assert response.status_code == 303
    with app.app_context():
        product = product_named("quasar-notes")
        assert response.headers["Location"].endswith(f"/admin/products/{product.id}#plans")
        assert product.name == "Quasar Notes" and product.is_active
        assert [p for p in product.product_schema["order"]] == ["company_name", "seats", "region"]
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.target_id == str(product.id)))
        assert (event.action, event.actor_id, event.before) == ("product.created", admin_client.user_id, None)
        assert event.after["name"] == "Quasar Notes" and event.ip
    listing = admin_client.get("/admin/products").get_data(as_text=True)
    assert "Quasar Notes" in listing and "/quasar-notes" in listing


def test_the_editor_shows_the_schema_as_written_and_a_preview_of_its_checkout_form(app, admin_client):
    admin_client.post("/admin/products/new", data=PRODUCT_FORM)
    with app.app_context():
        product_id = product_named("quasar-notes").id
    page = admin_client.get(f"/admin/products/{product_id}").get_data(as_text=True)
    # Properties in the order they were written, and no bookkeeping "order" key to keep in step by hand.
    assert page.index("company_name") < page.index("seats") < page.index("region") and "&#34;order&#34;" not in page
    assert 'data-schema-verdict="valid"' in page and 'id="answer-seats"' in page and 'min="1"' in page


def test_editing_a_product_records_before_and_after(app, admin_client, shop):
    product_id, _, _ = shop
    form = {**PRODUCT_FORM, "slug": "pipewise-crm", "name": "Pipewise CRM Pro", "category": "CRM"}
    assert admin_client.post(f"/admin/products/{product_id}", data=form).status_code == 303
    with app.app_context():
        assert product_named("pipewise-crm").name == "Pipewise CRM Pro"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "product.updated"))
        assert event.before["name"] == "Pipewise CRM" and event.after["name"] == "Pipewise CRM Pro"
        assert event.before["product_schema"] == {} and event.after["product_schema"]["required"] == [
            "company_name",
            "seats",
        ]


def test_bad_product_fields_are_explained_next_to_each_field_and_nothing_is_saved(app, admin_client):
    form = {**PRODUCT_FORM, "slug": "Not A Slug", "name": "", "category": "c" * 61}
    response = admin_client.post("/admin/products/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="slug-error"' in page and "lower-case letters" in page
    assert 'id="name-error"' in page and "Name is required" in page
    assert 'id="category-error"' in page and "at most 60 characters" in page
    assert 'value="Not A Slug"' in page  # what was typed stays in the form
    with app.app_context():
        assert count(Product) == 0 and count(AuditEvent) == 0


def test_a_taken_slug_is_refused(app, admin_client, shop):
    response = admin_client.post("/admin/products/new", data={**PRODUCT_FORM, "slug": "pipewise-crm"})
    assert response.status_code == 400 and "already uses the slug" in response.get_data(as_text=True)


def test_saving_malformed_json_is_refused_with_its_line_and_column_and_changes_nothing(app, admin_client, shop):
    product_id, _, _ = shop
    broken = '{\n  "type": "object",\n  "properties": {"seats": {"type": "integer"},}\n}'
    response = admin_client.post(
        f"/admin/products/{product_id}",
        data={**PRODUCT_FORM, "slug": "pipewise-crm", "name": "Renamed", "product_schema": broken},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Malformed JSON at line 3, column 47" in page and 'id="product_schema-error"' in page
    with app.app_context():
        product = product_named("pipewise-crm")
        assert product.name == "Pipewise CRM" and product.product_schema == {}
        assert actions(product_id) == ["product.created"]


def test_saving_a_schema_check_schema_rejects_lists_every_problem(app, admin_client):
    schema = (
        '{"properties": {"seats": {"type": "integer", "minimum": 10, "maximum": 1}, "x": {"type": "float"}},'
        ' "required": ["nme"]}'
    )
    response = admin_client.post("/admin/products/new", data={**PRODUCT_FORM, "product_schema": schema})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in (
        "properties.seats.minimum must not exceed maximum",
        "properties.x.type must be one of",
        "required names &#39;nme&#39;, which is not a property",
    ):
        assert page.count(message) == 2, message  # under the field and in the preview panel
    with app.app_context():
        assert count(Product) == 0


@pytest.mark.parametrize(
    "pattern, reason",
    [
        (r"(a)\\1", "invalid escape sequence"),  # a backreference
        ("(?=a)b", "invalid perl operator"),  # a lookahead
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_on_the_schema_field_and_nothing_is_saved(
    app, admin_client, pattern, reason
):
    schema = '{"properties": {"code": {"type": "string", "pattern": "' + pattern + '"}}}'  # pasted as JSON text
    response = admin_client.post("/admin/products/new", data={**PRODUCT_FORM, "product_schema": schema})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="product_schema-error"' in page
    assert "properties.code.pattern is not a valid regular expression" in page and reason in page
    assert "backreferences like \\1 and lookarounds like (?=…) are not supported" in page
    with app.app_context():
        assert count(Product) == 0


def test_a_catastrophic_but_linear_time_pattern_is_accepted(app, admin_client):
    schema = '{"properties": {"code": {"type": "string", "pattern": "(a+)+$"}}}'
    assert admin_client.post("/admin/products/new", data={**PRODUCT_FORM, "product_schema": schema}).status_code == 303


@pytest.mark.parametrize(
    "text,verdict,shown",
    [
        (
            SCHEMA_JSON,
            "valid",
            [
                'id="answer-company_name"',
                ' required minlength="2" maxlength="100"',
                'id="answer-seats"',
                'value="5"',
                '<option value="eu"',
                "3 questions at checkout",
            ],
        ),
        (
            '{"properties": {"sso": {"type": "boolean", "title": "Single sign-on"}}}',
            "valid",
            ['type="checkbox"', "Single sign-on", "1 question at checkout"],
        ),
        ("", "empty", ["No questions"]),
        (
            '{\n  "properties": {\n    "seats" {}\n  }\n}',
            "invalid",
            ["Malformed JSON at line 3, column 13: Expecting &#39;:&#39; delimiter"],
        ),
        (
            '{"properties": {"a": {"type": "string"}, "a": {"type": "integer"}}}',
            "invalid",
            ["The key &#34;a&#34; appears twice"],
        ),
        ('{"properties": {"a": {"type": "string", "pattern": "(["}}}', "invalid", ["not a valid regular expression"]),
        (
            '{"properties": {"seats": {"type": "integer", "default": 0, "minimum": 1}}}',
            "invalid",
            ["properties.seats.default: must be at least 1"],
        ),
        ('{"properties": {"a": {"type": ["string"]}}}', "invalid", ["properties.a.type must be one of"]),
        (
            '{"properties": {"a": {"type": "string", "maxLength": "ten", "default": "x"}}}',
            "invalid",
            ["properties.a.maxLength must be a whole number"],
        ),
        ("[1, 2]", "invalid", ["The schema must be a JSON object"]),
        ('{"title": "\\u0000"}', "invalid", ["NUL characters"]),
        ('{"a": NaN}', "invalid", ["NaN is not allowed"]),
        ("[" * 5000 + "]" * 5000, "invalid", ["too deeply nested"]),
        ('{"n": 1' + "0" * 5000 + "}", "invalid", ["number too large"]),
        (" " * 20_001, "empty", ["No questions"]),
        ('{"title": "' + "x" * 20_001 + '"}', "invalid", ["too long: at most 20,000 characters"]),
    ],
)
def test_the_schema_check_endpoint_answers_as_you_type(admin_client, text, verdict, shown):
    response = admin_client.post(
        "/admin/products/schema-preview", data={"product_schema": text}, headers={"HX-Request": "true"}
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in fragment and f'data-schema-verdict="{verdict}"' in fragment
    for piece in shown:
        assert piece in fragment, piece


def test_the_schema_check_works_without_javascript_too(admin_client):
    response = admin_client.post("/admin/products/schema-preview", data={"product_schema": SCHEMA_JSON})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page and 'id="answer-seats"' in page


def test_the_preview_button_without_javascript_renders_the_form_and_saves_nothing(app, admin_client):
    response = admin_client.post("/admin/products/new", data={**PRODUCT_FORM, "intent": "preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Quasar Notes"' in page and 'id="answer-company_name"' in page
    with app.app_context():
        assert count(Product) == 0


def test_admin_adds_two_plans_priced_in_major_units_and_the_catalog_shows_them(app, admin_client):
    admin_client.post("/admin/products/new", data=PRODUCT_FORM)
    with app.app_context():
        product_id = product_named("quasar-notes").id
    assert admin_client.post(f"/admin/products/{product_id}/plans/new", data=PLAN_FORM).status_code == 303
    yearly = {**PLAN_FORM, "billing_cycle": "yearly", "price": "499", "discount_percent": "0"}
    assert admin_client.post(f"/admin/products/{product_id}/plans/new", data=yearly).status_code == 303
    with app.app_context():
        plans = {p.billing_cycle: p for p in db.session.scalars(sa.select(Plan).where(Plan.product_id == product_id))}
        monthly = plans["monthly"]
        assert (monthly.price, monthly.discount_percent, monthly.final_price) == (4999, Decimal("12.50"), 4374)
        assert monthly.features == ["Seats: up to 10", "Email support"] and monthly.trial_days == 14
        assert plans["yearly"].price == 49900 and plans["yearly"].sort_order == monthly.sort_order  # same tier
        assert actions(monthly.id) == ["plan.created"]
    catalog = admin_client.get("/products/?q=quasar").get_data(as_text=True)
    assert "Quasar Notes" in catalog
    product_page = admin_client.get("/products/quasar-notes?cycle=monthly").get_data(as_text=True)
    assert "$43.74" in product_page and "Company name" in product_page


@pytest.mark.parametrize(
    "currency,price,stored", [("JPY", "500", 500), ("EUR", "0.5", 50), ("USD", "1000000", 100_000_000)]
)
def test_prices_convert_to_minor_units_by_currency(app, admin_client, shop, currency, price, stored):
    product_id, _, _ = shop
    response = admin_client.post(
        f"/admin/products/{product_id}/plans/new", data={**PLAN_FORM, "currency": currency, "price": price}
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Plan.price).where(Plan.currency == currency, Plan.name == "Team")) == stored


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"price": "49.999"}, "price", "USD prices have at most 2 decimal places"),
        ({"price": "5.5", "currency": "JPY"}, "price", "JPY prices have no decimals"),
        ({"price": "-5"}, "price", "Enter the price as an amount"),
        ({"price": "1,299.00"}, "price", "Enter the price as an amount"),
        ({"price": "1e3"}, "price", "Enter the price as an amount"),
        ({"price": "99999999999"}, "price", "must be at most 10,000,000,000.00"),
        ({"price": ""}, "price", "Enter the price as an amount"),
        ({"billing_cycle": "fortnightly"}, "billing_cycle", "Billing cycle must be one of"),
        ({"currency": "dollars"}, "currency", "three-letter code"),
        ({"discount_percent": "100.5"}, "discount_percent", "between 0 and 100"),
        ({"discount_percent": "1.234"}, "discount_percent", "two decimal places"),
        ({"trial_days": "400"}, "trial_days", "at most 365"),
        ({"trial_days": "two weeks"}, "trial_days", "whole number"),
        ({"features": "x" * 201}, "features", "at most 200 characters"),
        ({"features": "\n".join(f"F{i}" for i in range(41))}, "features", "up to 40 lines"),
        ({"name": ""}, "name", "Plan name is required"),
        ({"name": "Team\u200b"}, "name", "invisible characters"),
        ({"sort_order": "first"}, "sort_order", "whole number"),
    ],
)
def test_bad_plan_input_is_explained_next_to_the_field_and_nothing_is_saved(
    app, admin_client, shop, changes, field, message
):
    product_id, _, _ = shop
    response = admin_client.post(f"/admin/products/{product_id}/plans/new", data={**PLAN_FORM, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page and message in page
    with app.app_context():
        assert count(Plan, Plan.product_id == product_id) == 2


def test_editing_a_plan_records_before_and_after(app, admin_client, shop):
    product_id, monthly_id, _ = shop
    form = {**PLAN_FORM, "name": "Basic", "price": "12.00", "discount_percent": "10", "sort_order": "3"}
    assert admin_client.post(f"/admin/products/{product_id}/plans/{monthly_id}", data=form).status_code == 303
    with app.app_context():
        plan = db.session.get(Plan, monthly_id)
        assert (plan.price, plan.discount_percent, plan.sort_order) == (1200, Decimal("10.00"), 3)
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "plan.updated"))
        assert (
            event.before["price"] == 1000 and event.after["price"] == 1200 and event.after["product"] == "pipewise-crm"
        )


def test_the_plan_form_shows_the_stored_price_in_major_units(admin_client, shop):
    product_id, monthly_id, _ = shop
    page = admin_client.get(f"/admin/products/{product_id}/plans/{monthly_id}").get_data(as_text=True)
    assert 'value="10.00"' in page and "Seats: 5\nEmail support</textarea>" in page


def test_retiring_a_product_hides_it_from_the_catalog_and_its_subscriptions_go_on(app, admin_client, shop):
    product_id, monthly_id, _ = shop
    with app.app_context():
        subscription_id = subscribe(product_id, monthly_id).id
    assert admin_client.post(f"/admin/products/{product_id}/retire").status_code == 303
    assert 'href="/products/pipewise-crm' not in admin_client.get("/products/").get_data(as_text=True)
    assert admin_client.get("/products/pipewise-crm").status_code == 404
    with app.app_context():
        subscription = db.session.get(Subscription, subscription_id)
        assert subscription.status == "active" and subscription.plan_id == monthly_id
        assert db.session.get(Plan, monthly_id).is_active  # back as it was on restore
        assert actions(product_id)[-1] == "product.retired"
    retired_list = admin_client.get("/admin/products?status=retired").get_data(as_text=True)
    assert "Pipewise CRM" in retired_list
    assert admin_client.post(f"/admin/products/{product_id}/restore").status_code == 303
    assert admin_client.get("/products/pipewise-crm").status_code == 200
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "product.restored"))
        assert (event.before, event.after) == ({"is_active": False}, {"is_active": True})


def test_a_product_with_subscriptions_can_only_be_retired(app, admin_client, shop):
    product_id, _, yearly_id = shop
    with app.app_context():
        subscribe(product_id, yearly_id)
    page = admin_client.get(f"/admin/products/{product_id}").get_data(as_text=True)
    assert f"/admin/products/{product_id}/delete" not in page and f"/admin/products/{product_id}/retire" in page
    response = admin_client.post(f"/admin/products/{product_id}/delete")
    assert response.status_code == 409 and "can only be retired" in response.get_data(as_text=True)
    with app.app_context():
        assert count(Product) == 1 and count(Plan) == 2 and "product.deleted" not in actions(product_id)


def test_a_product_nobody_subscribed_to_is_deleted_with_its_plans(app, admin_client, shop):
    product_id, _, _ = shop
    page = admin_client.get(f"/admin/products/{product_id}").get_data(as_text=True)
    assert 'data-confirm="Delete “Pipewise CRM” and its 2 plans for good?' in page
    response = admin_client.post(f"/admin/products/{product_id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/products")
    with app.app_context():
        assert count(Product) == 0 and count(Plan) == 0
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "product.deleted"))
        assert event.before["name"] == "Pipewise CRM" and len(event.before["plans"]) == 2 and event.after is None
    assert admin_client.get(f"/admin/products/{product_id}").status_code == 404


def test_retiring_a_plan_takes_it_off_the_product_page_and_its_subscriptions_go_on(app, admin_client, shop):
    product_id, monthly_id, _ = shop
    with app.app_context():
        subscription_id = subscribe(product_id, monthly_id).id
    assert admin_client.post(f"/admin/products/{product_id}/plans/{monthly_id}/retire").status_code == 303
    page = admin_client.get("/products/pipewise-crm").get_data(as_text=True)
    assert "cycle=monthly" not in page and "Yearly" in page
    with app.app_context():
        assert db.session.get(Subscription, subscription_id).status == "active"
        assert actions(monthly_id)[-1] == "plan.retired"


def test_a_plan_with_subscriptions_keeps_its_terms_and_cannot_be_deleted(app, admin_client, shop):
    product_id, monthly_id, _ = shop
    with app.app_context():
        subscribe(product_id, monthly_id)
    response = admin_client.post(f"/admin/products/{product_id}/plans/{monthly_id}/delete")
    assert response.status_code == 409
    repriced = {**PLAN_FORM, "name": "Basic", "price": "20.00", "discount_percent": "0", "trial_days": "14"}
    response = admin_client.post(f"/admin/products/{product_id}/plans/{monthly_id}", data=repriced)
    assert response.status_code == 400 and "retire this plan and add a new one" in response.get_data(as_text=True)
    renamed = {**repriced, "name": "Basic+", "price": "10.00", "features": "Seats: 5\nPhone support"}
    assert admin_client.post(f"/admin/products/{product_id}/plans/{monthly_id}", data=renamed).status_code == 303
    with app.app_context():
        plan = db.session.get(Plan, monthly_id)
        assert (plan.name, plan.price, plan.features) == ("Basic+", 1000, ["Seats: 5", "Phone support"])


def test_a_plan_nobody_subscribed_to_is_deleted(app, admin_client, shop):
    product_id, monthly_id, yearly_id = shop
    with app.app_context():
        subscribe(product_id, yearly_id)  # someone is on the other plan: only this one goes
    assert admin_client.post(f"/admin/products/{product_id}/plans/{monthly_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Plan, monthly_id) is None and db.session.get(Plan, yearly_id) is not None
        assert (
            db.session.scalar(sa.select(AuditEvent.before).where(AuditEvent.action == "plan.deleted"))["price"] == 1000
        )


def test_a_plan_is_reached_only_through_its_own_product(app, admin_client, shop):
    _, monthly_id, _ = shop
    with app.app_context():
        other_id = ProductFactory(slug="other-tool", plans__cycles=("monthly",)).id
    assert admin_client.get(f"/admin/products/{other_id}/plans/{monthly_id}").status_code == 404
    assert admin_client.post(f"/admin/products/{other_id}/plans/{monthly_id}/delete").status_code == 404
    assert admin_client.post(f"/admin/products/{other_id}/plans/{monthly_id}/retire").status_code == 404
    with app.app_context():
        assert db.session.get(Plan, monthly_id).is_active


BAD_VALUES = [
    "",
    " ",
    "x" * 10_000,
    "admin\u200b",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\x00",
    "ok\x00",
    "-1",
    "1e309",
    "NaN",
    "９",
    "[]",
    "{}",
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_nonsense_in_any_product_or_plan_field_never_breaks_the_server(app, admin_client, shop, value):
    product_id, monthly_id, _ = shop
    for field in PRODUCT_FORM:
        for url in ("/admin/products/new", f"/admin/products/{product_id}"):
            response = admin_client.post(url, data={**PRODUCT_FORM, field: value})
            assert response.status_code < 500, (url, field)
            assert "<script>alert" not in response.get_data(as_text=True)
    for field in PLAN_FORM:
        for url in (f"/admin/products/{product_id}/plans/new", f"/admin/products/{product_id}/plans/{monthly_id}"):
            assert admin_client.post(url, data={**PLAN_FORM, field: value}).status_code < 500, (url, field)
    assert admin_client.post("/admin/products/schema-preview", data={"product_schema": value}).status_code == 200
    for arg in ("q", "category", "status", "sort", "dir", "page", "per_page"):
        assert admin_client.get("/admin/products", query_string={arg: value}).status_code == 200, arg


def test_the_list_filters_sorts_and_searches_by_htmx(app, admin_client):
    with app.app_context():
        ProductFactory(slug="pipewise-crm", name="Pipewise CRM", category="CRM", plans__cycles=("monthly", "yearly"))
        ProductFactory(slug="lumen-analytics", name="Lumen Analytics", category="Analytics", plans__cycles=("monthly",))
        retired = ProductFactory(slug="old-desk", name="Old Desk", category="Helpdesk", plans__cycles=("monthly",))
        retired.is_active = False
        db.session.commit()
    htmx = {"HX-Request": "true"}
    fragment = admin_client.get("/admin/products?category=CRM", headers=htmx).get_data(as_text=True)
    assert "<html" not in fragment and "Pipewise CRM" in fragment and "Lumen" not in fragment
    fragment = admin_client.get("/admin/products?status=retired", headers=htmx).get_data(as_text=True)
    assert "Old Desk" in fragment and "Pipewise" not in fragment
    fragment = admin_client.get("/admin/products?q=lumen", headers=htmx).get_data(as_text=True)
    assert "Lumen Analytics" in fragment and "Pipewise" not in fragment
    fragment = admin_client.get("/admin/products?q=100%25", headers=htmx).get_data(as_text=True)
    assert "No products match" in fragment  # % is a character to find, not a wildcard
    by_plans = admin_client.get("/admin/products?sort=plans&dir=desc", headers=htmx).get_data(as_text=True)
    assert by_plans.index("Pipewise CRM") < by_plans.index("Lumen Analytics")
    assert 'href="/admin/products?sort=plans&amp;dir=asc&amp;page=1"' in by_plans  # links keep the URL in step
    page = admin_client.get("/admin/products?category=CRM").get_data(as_text=True)
    assert 'hx-push-url="true"' in page and re.search(r'<option (selected value="CRM"|value="CRM" selected)>', page)


def _list_queries(app, admin_client, count_queries) -> list[int]:
    counts = []
    for url, headers in [
        ("/admin/products", {}),
        ("/admin/products?sort=plans&dir=desc&page=2", {}),
        ("/admin/products?q=invoice&status=active", {"HX-Request": "true"}),
    ]:
        with count_queries() as q:
            response = admin_client.get(url, headers=headers)
        assert response.status_code == 200
        counts.append(q.count)
    return counts


def test_the_product_list_costs_the_same_few_queries_with_10_or_300_products(app, admin_client, count_queries):
    with app.app_context():
        bulk_load_catalog(10)
        db.session.commit()
    admin_client.get("/admin/")  # the role's permissions are then cached, as on any live site
    small = _list_queries(app, admin_client, count_queries)
    with app.app_context():
        bulk_load_catalog(290, prefix="more")
        db.session.commit()
    large = _list_queries(app, admin_client, count_queries)
    assert large == small and max(large) <= 6, (small, large)


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/admin/products"),
        ("get", "/admin/products/new"),
        ("post", "/admin/products/new"),
        ("post", "/admin/products/schema-preview"),
    ],
)
def test_support_staff_may_not_manage_the_catalog(support_client, method, url):
    assert getattr(support_client, method)(url, data=PRODUCT_FORM if method == "post" else None).status_code == 403


def test_support_cannot_retire_or_delete_and_a_customer_sees_no_admin_at_all(
    app, support_client, customer_client, shop
):
    product_id, monthly_id, _ = shop
    for client, status in ((support_client, 403), (customer_client, 404)):
        assert client.get(f"/admin/products/{product_id}").status_code == status
        assert client.post(f"/admin/products/{product_id}/retire").status_code == status
        assert client.post(f"/admin/products/{product_id}/delete").status_code == status
        assert client.post(f"/admin/products/{product_id}/plans/{monthly_id}/delete").status_code == status
        assert (
            client.post(
                f"/admin/products/{product_id}/plans/{monthly_id}", data={**PLAN_FORM, "price": "0"}
            ).status_code
            == status
        )
    with app.app_context():
        assert product_named("pipewise-crm").is_active and count(Plan) == 2
        assert db.session.get(Plan, monthly_id).price == 1000


def test_catalog_changes_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        from tests.support.users import sign_in

        sign_in(client, make_user(username="root", role="admin"))
    assert client.post("/admin/products/new", data=PRODUCT_FORM).status_code == 400
    page = client.get("/admin/products/new").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    with app.app_context():
        assert count(Product) == 0


def test_admin_chooses_when_a_products_downgrades_take_effect_and_it_is_audited(app, admin_client, shop):
    product_id, _, _ = shop
    page = admin_client.get(f"/admin/products/{product_id}").get_data(as_text=True)
    assert "A switch to a cheaper plan takes effect" in page and '<option selected value="period_end">' in page
    form = {**PRODUCT_FORM, "slug": "pipewise-crm", "name": "Pipewise CRM", "category": "CRM"}
    assert (
        admin_client.post(f"/admin/products/{product_id}", data={**form, "downgrade_timing": "now"}).status_code == 303
    )
    with app.app_context():
        assert product_named("pipewise-crm").downgrade_timing == "now"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "product.updated"))
        assert (event.before["downgrade_timing"], event.after["downgrade_timing"]) == ("period_end", "now")
    refused = admin_client.post(f"/admin/products/{product_id}", data={**form, "downgrade_timing": "tomorrow"})
    assert refused.status_code == 400 and "Choose at the end of the period or at once" in refused.get_data(as_text=True)
    with app.app_context():
        assert product_named("pipewise-crm").downgrade_timing == "now"
