"""Admin reconciliation: the latest report of payments the gateway and our books disagree on."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.admin import bp
from app.auth.permissions import permission_required
from app.billing.services import reconcile


@bp.get("/reconciliation")
@permission_required("billing.view")
def reconciliation() -> ResponseReturnValue:
    return render_template("admin/reconciliation.html", mismatches=reconcile.current_mismatches())
