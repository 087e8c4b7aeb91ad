"""Paginated, sortable, searchable admin lists and streamed CSV exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Response, request, stream_with_context, url_for

from app.auth.emails import email_key
from app.extensions import db

if TYPE_CHECKING:
    from typing import TypeAlias

    # A select of rows of any shape (SQLAlchemy 2.1 types a select by the columns it returns).
    Rows: TypeAlias = sa.Select[*tuple[Any, ...]]

PER_PAGE_CHOICES = (25, 50, 100)
MAX_Q = 200


def arg_int(name: str, default: int, *, minimum: int = 1, maximum: int = 10**9) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, minimum), maximum)


def arg_choice(name: str, choices: Iterable[str], default: str = "") -> str:
    value = request.args.get(name, default)
    return value if value in set(choices) else default


def arg_date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def arg_q() -> str:
    # Postgres refuses NUL in text: searching for one would be a 500.
    return (request.args.get("q") or "").replace("\x00", "").strip()[:MAX_Q]


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def people_pattern(q: str) -> str:
    """LIKE pattern for a search by email or username: a whole address, in any spelling, finds the normal
    form we store (app/auth/emails.py); anything else is matched lower-cased."""
    return like_pattern(email_key(q))


@dataclass
class Listing:
    rows: list[Any]
    total: int
    page: int
    per_page: int
    sort: str
    direction: str
    endpoint: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def url(self, **changes: Any) -> str:
        args = {**self.args, "sort": self.sort, "dir": self.direction, "page": self.page, **changes}
        return url_for(self.endpoint, **{k: v for k, v in args.items() if v not in (None, "")})

    def sort_url(self, column: str) -> str:
        direction = "asc" if (self.sort == column and self.direction == "desc") else "desc"
        return self.url(sort=column, dir=direction, page=1)

    def page_numbers(self) -> list[int | None]:
        """1 … 4 5 [6] 7 8 … 20 (None is a gap)."""
        wanted = {1, self.pages, *range(self.page - 2, self.page + 3)}
        out: list[int | None] = []
        for n in sorted(p for p in wanted if 1 <= p <= self.pages):
            if out and out[-1] is not None and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out


def paginate(
    query: Rows,
    *,
    endpoint: str,
    sorts: Mapping[str, Any],
    default_sort: str,
    default_direction: str = "desc",
    args: Mapping[str, Any] | None = None,
    scalars: bool = True,
    count_query: Rows | None = None,
    tiebreak: Any = None,
) -> Listing:
    """Run `query` for the requested page: one COUNT and one page query, whatever the table size.

    `tiebreak` (a unique column) keeps pages stable for row queries; entity queries use their primary key.
    """
    sort = arg_choice("sort", sorts, default_sort)
    direction = arg_choice("dir", ("asc", "desc"), default_direction)
    per_page = arg_int("per_page", PER_PAGE_CHOICES[0], minimum=PER_PAGE_CHOICES[0], maximum=PER_PAGE_CHOICES[-1])
    if per_page not in PER_PAGE_CHOICES:
        per_page = PER_PAGE_CHOICES[0]
    if count_query is None:
        count_query = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total: int = db.session.scalar(count_query) or 0
    page = min(arg_int("page", 1), max(1, -(-total // per_page)))
    column = sorts[sort]
    ordered = query.order_by(column.asc() if direction == "asc" else column.desc())
    # A unique tie-breaker keeps pages stable when the sort column has duplicates.
    pk = query.selected_columns[0].table.primary_key.columns.values()[0] if scalars else tiebreak
    if pk is not None:
        ordered = ordered.order_by(pk)
    page_query = ordered.limit(per_page).offset((page - 1) * per_page)
    result = db.session.execute(page_query)
    rows = list(result.scalars().unique()) if scalars else list(result.all())
    return Listing(
        rows=rows,
        total=total,
        page=page,
        per_page=per_page,
        sort=sort,
        direction=direction,
        endpoint=endpoint,
        args={k: v for k, v in (args or {}).items() if v},
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    # Defuse spreadsheet formula injection.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def stream_csv(
    filename: str, header: list[str], query: Rows, row: Callable[[Any], Iterable[object]] = tuple
) -> Response:
    """Stream `query` as CSV in chunks (server-side cursor): 100,000 rows never sit in memory."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        result = db.session.execute(query.execution_options(stream_results=True, yield_per=1000))
        for n, record in enumerate(result, 1):
            writer.writerow([_cell(v) for v in row(record)])
            if n % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
