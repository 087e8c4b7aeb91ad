"""The money lists (invoices, transactions): one way to filter, page and export each as CSV.

A list is described once (`MoneyList`): its query, sorts, template and CSV columns. The page and
its export read the same filters (`ListFilterForm`), so the CSV holds exactly the rows the page lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response, request
from flask.typing import ResponseReturnValue

from app.admin import queries
from app.admin.forms import ListFilterForm
from app.admin.listing import Listing, paginate, stream_csv
from app.errors import ValidationError
from app.templating import render_page

if TYPE_CHECKING:
    from app.admin.listing import Rows


def _choices(any_label: str, values: Sequence[str], label: Callable[[str], str]) -> list[tuple[str, str]]:
    return [("", any_label), *((value, label(value)) for value in values)]


@dataclass(frozen=True)
class MoneyList:
    endpoint: str
    template: str
    model: Any
    query: Callable[[queries.BillingFilters], Rows]
    sorts: dict[str, Any]
    default_sort: str
    statuses: Sequence[str]
    kinds: Sequence[str]
    any_kind: str
    kind_label: Callable[[str], str]
    csv_name: str
    csv_columns: dict[str, Callable[[Any], object]]

    def form(self) -> ListFilterForm:
        form = ListFilterForm(request.args)
        form.offer("status", _choices("Any status", self.statuses, str.capitalize))
        form.offer("kind", _choices(self.any_kind, self.kinds, self.kind_label))
        return form

    def show(self, extra: Callable[[Listing], dict[str, Any]] | None = None, **context: Any) -> ResponseReturnValue:
        """The filtered, sorted page of rows (400, with the filter left out, when a date is malformed)."""
        form = self.form()
        filters = form.filters()
        query = self.query(filters)
        listing = paginate(
            query,
            endpoint=self.endpoint,
            sorts=self.sorts,
            default_sort=self.default_sort,
            args=filters.args(),
            scalars=False,
            tiebreak=self.model.id,
            count_query=queries.count_without_user_join(query, self.model),
        )
        page = render_page(
            self.template,
            block="results",
            listing=listing,
            filters=form,
            args=filters.args(),
            errors=form.problems,
            **(extra(listing) if extra else {}),
            **context,
        )
        return page, 400 if form.problems else 200

    def export(self) -> Response:
        """Every row the page would list, as CSV (a malformed filter is refused, not silently dropped)."""
        form = self.form()
        filters = form.filters()
        if form.problems:
            raise ValidationError(form.problems)
        return stream_csv(
            self.csv_name,
            list(self.csv_columns),
            self.query(filters).order_by(self.sorts[self.default_sort].desc(), self.model.id),
            lambda row: [cell(row) for cell in self.csv_columns.values()],
        )
