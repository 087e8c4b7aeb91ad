"""Every route of the app as a URL to request, its arguments filled in (for sweeps over app.url_map).

`world` makes one row of everything a route can name; `Visitor` is a browser (signed out, or
signed in as someone) that sends the CSRF token its pages carry, as HTMX does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from app.auth.reset import make_reset_token
from app.extensions import db
from app.models.passkey import WebAuthnCredential
from app.models.user import User
from app.rbac import role_named
from tests.factories import InvoiceFactory, PlanFactory, ProductFactory, SubscriptionFactory
from tests.notifications.helpers import add_notifications
from tests.support.users import make_user, sign_in

PLACEHOLDER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def fill(rule: str, args: dict[str, str]) -> str:
    """`rule` with each <converter:name> replaced by args["<converter:name>"] or args["name"] (else left as is)."""

    def value(match: re.Match) -> str:
        return args.get(match.group(0), args.get(match.group("name"), match.group(0)))

    return PLACEHOLDER.sub(value, rule)


def rules(app, method: str, prefix: str = "/", skip_endpoints: frozenset = frozenset({"static"})):
    """The app's rules answering `method` under `prefix`, in a stable order."""
    found = [
        rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods and rule.rule.startswith(prefix) and rule.endpoint not in skip_endpoints
    ]
    return sorted(found, key=lambda rule: rule.rule)


def route_urls(app, method: str, args: dict[str, str], prefix: str = "/") -> list[str]:
    return [fill(rule.rule, args) for rule in rules(app, method, prefix)]


def arguments(rule) -> list[tuple[str, str]]:
    """(converter, name) of each argument in the rule, e.g. [("int", "role_id")]."""
    return [(m.group("converter") or "default", m.group("name")) for m in PLACEHOLDER.finditer(rule.rule)]


@dataclass
class World:
    args: dict[str, str]
    customer_id: uuid.UUID
    admin_id: uuid.UUID


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def world(csrf_app) -> World:
    """One of everything a route can name, owned by the customer where ownership matters."""
    with csrf_app.app_context():
        customer = make_user(username="buyer", totp=True)  # with a passkey too (below): both second factors
        admin = make_user(username="boss", role="admin")
        target = make_user(username="target")
        product = ProductFactory(name="Pipeline CRM")
        plan = PlanFactory(product=product)
        subscription = SubscriptionFactory(user=customer, plan=plan)
        invoice = InvoiceFactory(user=customer, plan=plan, subscription_id=subscription.id)
        notification = add_notifications(customer.id, 1)[0]
        other_device = sign_in(csrf_app.test_client(), customer)
        passkey = WebAuthnCredential(
            user_id=customer.id, credential_id=b"world-passkey", public_key=b"", name="Laptop", transports=[]
        )
        db.session.add(passkey)
        db.session.commit()
        args = {
            "user_id": target.id,
            "product_id": product.id,
            "plan_id": plan.id,
            "slug": product.slug,
            "subscription_id": subscription.id,
            "invoice_id": invoice.id,
            "notification_id": notification,
            "session_id": other_device.id,
            "role_id": role_named("support").id,
            "token": make_reset_token(target),
            "attempt_id": uuid.uuid4(),
            "job_id": "nojob",
            "provider": "google",
            "passkey_id": passkey.id,
        }
        world = World({name: str(value) for name, value in args.items()}, customer.id, admin.id)
        db.session.remove()
    return world


class Visitor:
    """A browser as `user_id` (None: signed out), holding the CSRF token its pages carry."""

    def __init__(self, app, user_id):
        self.app, self.user_id = app, user_id
        self.client = app.test_client()
        self.start()

    def start(self) -> None:
        if self.user_id is not None:
            with self.app.app_context():
                sign_in(self.client, db.session.get(User, self.user_id))
                db.session.remove()
        html = self.client.get("/").get_data(as_text=True)
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)

    def still_as_before(self) -> None:
        """Sign in again if the last request signed out (logout) or dropped the session."""
        with self.client.session_transaction() as session:
            intact = "csrf_token" in session and (self.user_id is None or "_user_id" in session)
        if not intact:
            self.start()

    def send(self, method: str, url: str, **kwargs):
        headers = {"X-CSRFToken": self.token, **kwargs.pop("headers", {})}
        # buffered: a streamed CSV export would otherwise keep its app context (and a transaction) open
        response = self.client.open(url, method=method, headers=headers, buffered=True, **kwargs)
        self.still_as_before()
        return response


@pytest.fixture
def visitor_as(csrf_app, world):
    """`visitor_as("visitor" | "customer" | "admin")`: a Visitor on the CSRF-checking app."""

    def make(role: str) -> Visitor:
        return Visitor(csrf_app, {"visitor": None, "customer": world.customer_id, "admin": world.admin_id}[role])

    return make
