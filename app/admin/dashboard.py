"""The dashboard: the business in figures, revenue per month, the queues."""

from __future__ import annotations

from datetime import date

from flask import render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from app.admin import bp, queues, stats
from app.admin.charts import Bar, bar_chart
from app.auth.permissions import permission_required
from app.errors import ExternalServiceError
from app.money import format_money


def revenue_charts(revenue: dict[str, list[tuple[str, int]]]) -> list[tuple[str, Markup, int]]:
    """(currency, SVG chart, 12-month total) for each currency with revenue in the last 12 months."""
    charts = []
    for currency, months in revenue.items():
        bars = []
        for key, amount in months:
            label = date(int(key[:4]), int(key[5:]), 1).strftime("%b")
            caption = f"{date(int(key[:4]), int(key[5:]), 1):%b %Y}: {format_money(amount, currency)}"
            bars.append(Bar(label=label, value=amount, caption=caption))
        charts.append(
            (currency, bar_chart(bars, title=f"Net revenue per month, {currency}"), sum(a for _, a in months))
        )
    return charts


@bp.get("/")
@permission_required("admin.access")
def dashboard() -> ResponseReturnValue:
    try:
        queue_states = queues.queue_states()
    except ExternalServiceError:
        queue_states = None
    figures, revenue = stats.dashboard_figures()
    return render_template(
        "admin/dashboard.html",
        figures=figures,
        queue_states=queue_states,
        backlog=queues.outbox_backlog(),
        revenue=revenue_charts(revenue),
    )
