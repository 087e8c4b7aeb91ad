import re

import pytest
import sqlalchemy as sa

from app.catalog import fees
from app.extensions import db
from app.models import Plan
from tests.catalog.test_schema_and_fee import SCHEMA
from tests.factories import ProductFactory
from tests.support.users import make_user, sign_in


@pytest.fixture
def product(app):
    with app.app_context():
        made = ProductFactory(
            slug="pipewise-crm",
            name="Pipewise CRM",
            category="CRM",
            tagline="Sales pipeline",
            description="First paragraph about deals.\n\nSecond paragraph about forecasts.",
            product_schema=SCHEMA,
            plans__tiers=(("Starter", 2900), ("Growth", 7900)),
        )
        db.session.execute(sa.update(Plan).where(Plan.name == "Growth").values(trial_days=0))
        db.session.execute(
            sa.update(Plan).where(Plan.name == "Growth", Plan.billing_cycle == "yearly").values(discount_percent=10)
        )
        db.session.commit()
        return made.slug


def prices(html: str) -> list[str]:
    return re.findall(r"data-plan-price>([^<]+)<", html)


def test_product_page_shows_description_plans_side_by_side_and_trial(client, product):
    page = client.get("/products/pipewise-crm")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<p>First paragraph about deals.</p>" in html and "<p>Second paragraph about forecasts.</p>" in html
    assert re.findall(r'<span class="plan-name">([^<]+)</span>', html) == ["Compare plans", "Starter", "Growth"]
    assert prices(html) == ["$29.00", "$79.00"]  # monthly by default
    assert re.search(r"<th scope=\"row\">Seats</th>\s*<td>5</td>\s*<td>10</td>", html)
    assert re.search(r"<th scope=\"row\">Free trial</th>\s*<td>14 days</td><td>.*No trial", html)
    assert "Start 14-day free trial" in html
    # What checkout will ask for, from the product schema, in the order it was written.
    asked = html.split("At checkout we'll ask for")[1].split("</ul>")[0]
    assert re.findall(r"<li>([^<]+?)(?: <span|</li>)", asked) == [
        "Company name",
        "Seats",
        "Data region",
        "Single sign-on",
        "Vat id",
    ]


def test_cycle_toggle_switches_prices_and_shows_the_saving_against_monthly(client, product):
    html = client.get("/products/pipewise-crm?cycle=yearly").get_data(as_text=True)
    assert prices(html) == ["$290.00", "$711.00"]  # Growth: 790.00 less 10 %
    assert "<del>$790.00</del>" in html and "10% off" in html
    assert re.findall(r"Save (\d+)%", html) == ["17", "25"]  # (1 − 711 / (79 × 12)) = 25 %
    assert "$24.17 a month" in html  # 290 / 12, half up
    assert re.search(r'aria-current="true">\s*Yearly <span class="save-chip">−25%</span>', html)
    toggle = re.search(
        r'<a href="/products/pipewise-crm\?cycle=quarterly"\s+hx-get="([^"]+)" hx-target="#pricing"'
        r' hx-swap="outerHTML"\s+hx-replace-url="true"',
        html,
    )
    assert toggle and toggle.group(1) == "/products/pipewise-crm?cycle=quarterly"


def test_the_cycle_toggle_by_htmx_returns_just_the_pricing_section(client, product):
    fragment = client.get("/products/pipewise-crm?cycle=weekly", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="pricing"')
    assert "<html" not in html and "First paragraph" not in html
    assert prices(html) == ["$7.25", "$19.75"] and "/ week" in html
    assert "Save" not in html  # paying weekly costs more than paying monthly


def test_anonymous_visitors_fill_a_cart_but_sign_in_for_a_trial(client, product):
    html = client.get("/products/pipewise-crm?cycle=yearly").get_data(as_text=True)
    pricing = html.split('id="pricing"')[1]
    login = "/auth/login?next=/products/pipewise-crm?cycle%3Dyearly"
    assert pricing.count(f'href="{login}"') == 1  # the Starter trial
    assert pricing.count('action="/cart/add"') == 2  # Starter and Growth
    assert "You'll sign in to start the trial." in html


def test_signed_in_customers_post_the_plan_to_billing_with_a_csrf_token(make_app, product):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        sign_in(client, make_user(username="grace"))
        starter = db.session.scalar(sa.select(Plan.id).where(Plan.name == "Starter", Plan.billing_cycle == "monthly"))
    html = client.get("/products/pipewise-crm").get_data(as_text=True)
    forms = re.findall(
        r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf_token" value="([^"]+)">'
        r'\s*<input type="hidden" name="plan_id" value="([^"]+)">',
        html,
    )
    assert [(action, plan) for action, _, plan in forms][:2] == [
        ("/subscriptions/trial", str(starter)),
        ("/cart/add", str(starter)),
    ]
    assert len(forms) == 3 and all(len(token) > 20 for _, token, _ in forms)
    assert "/auth/login" not in html.split('id="pricing"')[1]


def test_the_platform_fee_is_mentioned_once_it_is_set(app, client, product):
    assert "platform fee" not in client.get("/products/pipewise-crm").get_data(as_text=True).lower()
    with app.app_context():
        fees.set_fee("2.5", actor_id=None, reason="Launch")
    assert "A platform fee of 2.5% is added at checkout" in client.get("/products/pipewise-crm").get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/products/nope",
        "/products/Pipewise-CRM",
        "/products/" + "a" * 5000,
        "/products/%00",
        "/products/pipewise-crm%27%20OR%201=1%20--",
    ],
)
def test_unknown_slugs_are_404(client, product, path):
    page = client.get(path)
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)


def test_a_retired_product_is_404(app, client, product):
    with app.app_context():
        db.session.execute(sa.text("UPDATE product SET is_active = false"))
        db.session.commit()
    assert client.get("/products/pipewise-crm").status_code == 404


@pytest.mark.parametrize("cycle", ["fortnightly", "<script>alert(1)</script>", "' OR 1=1 --", "x" * 10_000, "\x00"])
def test_a_nonsense_cycle_is_ignored_with_a_message(client, product, cycle):
    page = client.get("/products/pipewise-crm", query_string={"cycle": cycle})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and prices(html) == ["$29.00", "$79.00"]
    if cycle.strip("\x00"):
        assert "is not a billing cycle on offer here, so monthly prices are shown" in html
    assert "<script>alert" not in html


def test_a_cycle_the_product_does_not_offer_falls_back_to_one_it_does(app, client):
    with app.app_context():
        ProductFactory(slug="yearly-only", plans__cycles=("quarterly", "yearly"))
    html = client.get("/products/yearly-only?cycle=weekly").get_data(as_text=True)
    assert "“weekly” is not a billing cycle on offer here, so quarterly prices are shown" in html
    assert re.findall(r'cycle=(\w+)"\s+hx-get', html) == ["quarterly", "yearly"]
