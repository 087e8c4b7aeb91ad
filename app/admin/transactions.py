"""Admin transactions: every charge and refund attempt, filtered, with its invoices; CSV export."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from app.admin import bp, queries
from app.admin.listing import Listing
from app.admin.money_lists import MoneyList
from app.auth.permissions import permission_required
from app.models.billing import TRANSACTION_KINDS, TRANSACTION_STATUSES, Transaction

TRANSACTIONS = MoneyList(
    endpoint="admin.transactions_list",
    template="admin/transactions.html",
    model=Transaction,
    query=queries.transactions,
    sorts=queries.TRANSACTION_SORTS,
    default_sort="created_at",
    statuses=TRANSACTION_STATUSES,
    kinds=TRANSACTION_KINDS,
    any_kind="Charges and refunds",
    kind_label=lambda kind: kind.capitalize() + "s",
    csv_name="transactions.csv",
    csv_columns={
        "created_at": lambda r: r[0].created_at,
        "kind": lambda r: r[0].kind,
        "purpose": lambda r: r[0].purpose,
        "status": lambda r: r[0].status,
        "customer": lambda r: r[1].username,
        "email": lambda r: r[1].email,
        "currency": lambda r: r[0].currency,
        "amount": lambda r: r[0].amount,
        "gateway": lambda r: r[0].gateway,
        "gateway_reference": lambda r: r[0].gateway_reference,
        "failure_code": lambda r: r[0].failure_code,
        "settled_at": lambda r: r[0].settled_at,
        "id": lambda r: r[0].id,
    },
)


def _invoices(listing: Listing) -> dict[str, Any]:
    return {"invoices": queries.invoices_paid_by([row[0].id for row in listing.rows])}


@bp.get("/transactions")
@permission_required("billing.view")
def transactions_list() -> ResponseReturnValue:
    return TRANSACTIONS.show(_invoices)


@bp.get("/transactions.csv")
@permission_required("billing.manage")
def transactions_export() -> ResponseReturnValue:
    return TRANSACTIONS.export()
