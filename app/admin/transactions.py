"""Admin transactions: every charge and refund attempt, filtered, with its invoices; CSV export."""

from flask.typing import ResponseReturnValue

from app.admin import bp, queries
from app.admin.billing_lists import TRANSACTION_SORTS, count_without_user_join, transactions_query
from app.admin.listing import paginate, stream_csv
from app.auth.permissions import permission_required
from app.errors import ValidationError
from app.models.billing import TRANSACTION_KINDS, TRANSACTION_STATUSES, Transaction
from app.templating import render_page


@bp.get("/transactions")
@permission_required("billing.view")
def transactions_list() -> ResponseReturnValue:
    query, args, errors = transactions_query()
    listing = paginate(
        query,
        endpoint="admin.transactions_list",
        sorts=TRANSACTION_SORTS,
        default_sort="created_at",
        args=args,
        scalars=False,
        tiebreak=Transaction.id,
        count_query=count_without_user_join(query, Transaction),
    )
    invoices = queries.invoices_paid_by([row[0].id for row in listing.rows])
    return render_page(
        "admin/transactions.html",
        block="results",
        listing=listing,
        args=args,
        errors=errors,
        invoices=invoices,
        statuses=TRANSACTION_STATUSES,
        kinds=TRANSACTION_KINDS,
    ), 400 if errors else 200


@bp.get("/transactions.csv")
@permission_required("billing.manage")
def transactions_export() -> ResponseReturnValue:
    query, _, errors = transactions_query()
    if errors:
        raise ValidationError({next(iter(errors)): next(iter(errors.values()))})
    return stream_csv(
        "transactions.csv",
        [
            "created_at",
            "kind",
            "purpose",
            "status",
            "customer",
            "email",
            "currency",
            "amount",
            "gateway",
            "gateway_reference",
            "failure_code",
            "settled_at",
            "id",
        ],
        query.order_by(Transaction.created_at.desc(), Transaction.id),
        lambda r: (
            r[0].created_at,
            r[0].kind,
            r[0].purpose,
            r[0].status,
            r[1].username,
            r[1].email,
            r[0].currency,
            r[0].amount,
            r[0].gateway,
            r[0].gateway_reference,
            r[0].failure_code,
            r[0].settled_at,
            r[0].id,
        ),
    )
