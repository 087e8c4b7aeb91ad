"""The audit log reads as sentences with links ("root changed buyer's role from customer to support"),
the raw record behind a disclosure; every kind the app records has its sentence."""

import html
import re
import string
from pathlib import Path

import sqlalchemy as sa

from app import audit
from app.admin.audit_sentences import GENERIC, SENTENCES
from app.extensions import db
from app.models.user import Role, User
from tests.factories import InvoiceFactory, PlanFactory, ProductFactory
from tests.support.users import make_user

APP = Path(__file__).resolve().parents[2] / "app"


RECORD = re.compile(r'audit\.record\(\s*"([a-z_]+\.[a-z_]+)"(?:\s+if\s[^\n]*?\selse\s"([a-z_]+\.[a-z_]+)")?')


def recorded_kinds() -> set[str]:
    """Every event kind the code can record: audit.record("kind", …) (also `"a" if … else "b"`),
    action="kind" passed on to it, and f"{table}.retired/restored" for products and plans."""
    kinds: set[str] = set()
    for path in APP.rglob("*.py"):
        text = path.read_text()
        kinds.update(k for pair in RECORD.findall(text) for k in pair if k)
        kinds.update(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
        if 'f"{target.__tablename__}.' in text:
            kinds.update(f"{table}.{what}" for table in ("product", "plan") for what in ("retired", "restored"))
    return kinds


def _sentences(client, **query) -> list[str]:
    page = client.get("/admin/audit", query_string={"per_page": 100, **query}).text
    return [m.strip() for m in re.findall(r'<td class="audit-sentence">\s*<p>(.*?)</p>', page, re.S)]


def _plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_every_kind_the_app_records_has_its_own_sentence():
    kinds = recorded_kinds()
    assert {"user.role_changed", "invoice.refund", "password.changed", "product.retired", "role.updated"} <= kinds
    assert sorted(kinds - SENTENCES.keys()) == []


def test_a_role_change_reads_as_who_changed_whose_role_from_what_to_what(app, admin_client):
    with app.app_context():
        buyer = make_user(username="buyer", role="customer")
        support = db.session.scalar(sa.select(Role.id).where(Role.name == "support"))
        buyer_id = buyer.id
    admin_client.post(f"/admin/users/{buyer_id}/role", data={"role_id": str(support)})
    [line] = _sentences(admin_client, action="user.role_changed")
    assert _plain(line) == "root changed buyer's role from customer to support"
    assert f'<a href="/admin/users/{admin_client.user_id}">root</a>' in line
    assert f'<a href="/admin/users/{buyer_id}">buyer</a>' in line


def test_a_refund_names_what_was_refunded_of_which_invoice_and_links_to_the_invoice(app, admin_client):
    with app.app_context():
        plan = PlanFactory(product=ProductFactory(name="Pipeline CRM"))
        invoice = InvoiceFactory(user=make_user(username="ada"), plan=plan, status="paid")
        invoice_id, number, total = invoice.id, invoice.number, invoice.total
    admin_client.post(f"/admin/invoices/{invoice_id}/refund", data={"reason": "Duplicate payment", "amount": "5.00"})
    [line] = _sentences(admin_client, action="invoice.refund")
    amount = f"${total / 100:,.2f}"
    assert _plain(line) == f"root refunded $5.00 of invoice {number} ({amount})"
    assert f'<a href="/admin/invoices/{invoice_id}">{number}</a>' in line


def test_every_kind_renders_a_sentence_and_its_raw_record_sits_behind_a_disclosure(app, admin_client):
    with app.app_context():
        target = make_user(username="target_person")
        for kind, template in SENTENCES.items():
            keys = [name for _, name, _, _ in string.Formatter().parse(template) if name]
            data = {
                side: {k.split("_", 1)[1]: f"v-{k}" for k in keys if k.startswith(f"{side}_")}
                for side in ("before", "after")
            }
            audit.record(
                kind,
                actor_id=admin_client.user_id,
                target=target,
                before=data["before"] or None,
                after=data["after"] or None,
            )
        db.session.commit()
    for kind in SENTENCES:
        page = admin_client.get("/admin/audit", query_string={"action": kind}).text
        [line] = _sentences(admin_client, action=kind)
        assert "{" not in line and '"' not in _plain(line), f"{kind} shows raw data: {line}"
        assert _plain(line)[:1].isalpha(), f"{kind}: {line}"
        assert re.search(r'<details class="audit-raw">\s*<summary>Details</summary>', page)


def test_an_unknown_kind_gets_a_generic_sentence_with_the_raw_record_still_available(app, admin_client):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "root"))
        audit.record("widget.frobbed", actor_id=user.id, target_type="widget", target_id="w-1", after={"size": 3})
        db.session.commit()
    assert "{action}" in GENERIC
    [line] = _sentences(admin_client, action="widget.frobbed")
    assert _plain(line) == "root — widget.frobbed on widget w-1"
    page = admin_client.get("/admin/audit", query_string={"action": "widget.frobbed"}).text
    assert "&#34;size&#34;: 3" in page or '"size": 3' in page
