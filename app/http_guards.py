"""What a request may carry: how big its body is, what kind of body, how large an id in its URL.

Every page takes HTML form posts (urlencoded or multipart, as browsers and HTMX send them).
Anything else is refused before a form or a service sees it, so a JSON body full of numbers,
lists and nulls is a 415, not a 500 deep inside WTForms. A view that reads its own raw body
(the payment webhook) says so with `@raw_body(...)` and gets its own size limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest, RequestURITooLarge, UnsupportedMediaType
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

API_PREFIX = "/api/"  # the JSON API (app/api/): JSON bodies, not forms
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Our integer ids are Postgres `integer` columns: a larger number names no row, and would make
# the database raise instead of answering "not found".
INT4_MAX = 2**31 - 1
# Retry-After tells a client when to come back; on anything but these it is noise (or a hint to attackers).
RETRY_AFTER_STATUSES = frozenset({429, 503})

View = TypeVar("View", bound=Callable[..., Any])


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: 1 … 2³¹−1 (no leading zeros); any other number is a 404, as an unknown id is.

    The range is in the regex, not only in to_python: werkzeug answers a failed conversion
    with 405 when another method's rule has the same path.
    """

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = INT4_MAX, signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        if not (fixed_digits or signed) and min in (0, 1):
            self.regex = ("0|" if min == 0 else "") + digits_up_to(max)


def digits_up_to(limit: int) -> str:
    """A regex for the numbers 1 … limit written without leading zeros."""
    text = str(limit)
    choices = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(int(ch) for ch in text):
        lowest = 1 if i == 0 else 0
        if digit > lowest:
            rest = len(text) - i - 1
            choices.append(text[:i] + f"[{lowest}-{digit - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    choices.append(text)
    return "(?:" + "|".join(choices) + ")"


def int_id(text: str | None) -> int | None:
    """An integer id from a form or query string, or None when it isn't one a row could have."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(INT4_MAX)):
        return None
    value = int(text)
    return value if 1 <= value <= INT4_MAX else None


def raw_body(max_length_setting: str) -> Callable[[View], View]:
    """Mark a view that reads its own body (any content type), limited to `config[max_length_setting]` bytes.

    Put it below the route decorator, like `csrf.exempt`.
    """

    def mark(view: View) -> View:
        view.raw_body_limit_setting = max_length_setting  # type: ignore[attr-defined]  # a mark on the function
        return view

    return mark


def _raw_body_setting() -> str | None:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "raw_body_limit_setting", None)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check_body() -> None:
    """Before anything reads the body (CSRF reads the form): set this view's limit, refuse what no form sends."""
    if request.path.startswith(API_PREFIX):
        check_json_body()
        return
    setting = _raw_body_setting()
    if setting is not None:
        request.max_content_length = current_app.config[setting]
        return
    if request.method in BODY_METHODS and _has_body() and request.mimetype not in FORM_TYPES:
        raise UnsupportedMediaType("This address takes a form from its page, not data of this kind.")
    if request.mimetype == "multipart/form-data" and request.method in BODY_METHODS and request.files:
        # No page uploads files; a file where a form field belongs would reach the form as an object.
        raise UnsupportedMediaType("This form takes no files.")


def check_json_body() -> None:
    """The JSON API takes JSON only, of at most API_MAX_BODY_BYTES and API_MAX_JSON_DEPTH levels, at URLs of at
    most API_MAX_URL_LENGTH: anything else is a 413, 415, 400 or 414 here, before a schema sees it (a deep
    enough body would crash the parser)."""
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]
    # An address no route matches is a 404 however long; one that does, with a query past the limit, is a 414.
    if request.url_rule is not None and len(request.full_path) > current_app.config["API_MAX_URL_LENGTH"]:
        raise RequestURITooLarge("That address is too long for the API.")
    if request.method not in BODY_METHODS or not _has_body():
        return
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType("The API takes JSON bodies: send Content-Type: application/json.")
    data = request.get_data(cache=True)  # 413 past the limit
    if json_depth(data) > current_app.config["API_MAX_JSON_DEPTH"]:
        raise BadRequest("That JSON is nested too deeply.")
    try:
        json.loads(data)
    except ValueError:  # includes a body that isn't UTF-8
        raise BadRequest("The body isn't valid JSON.") from None


def json_depth(data: bytes) -> int:
    """How deeply brackets nest in `data`, outside strings (a scan: no parser, so no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def drop_stray_retry_after(response: Response) -> Response:
    """Flask-Limiter adds Retry-After to every response of a limited route, 200s and 401s included."""
    if response.status_code not in RETRY_AFTER_STATUSES:
        response.headers.pop("Retry-After", None)
    return response


def init_app(app: Flask) -> None:
    """Call before the other extensions: this before_request must run before CSRF reads the form,
    and this after_request after the limiter's (after_request hooks run in reverse order)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_body)
    app.after_request(drop_stray_retry_after)
