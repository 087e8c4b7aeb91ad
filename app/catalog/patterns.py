"""The `pattern` of a schema field, matched with RE2 (google-re2): time linear in the input, whatever the pattern.

Python's `re` backtracks, so an admin's `(a+)+$` took seconds on a 26-character answer.
RE2 has no backreferences or lookaround; a pattern that needs them is refused when the schema
is saved, with RE2's reason.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import re2

log = logging.getLogger(__name__)

MAX_PATTERN = 200


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the admin, not to stderr
    return options


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, options=_options())


def pattern_problem(pattern: object) -> str | None:
    """Why `pattern` can't be a field's pattern; None when RE2 compiles it."""
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN:
        return f"must be a regular expression of at most {MAX_PATTERN} characters"
    try:
        _compiled(pattern)
    except UnicodeEncodeError:
        return "must not contain unpaired surrogates (\\ud800–\\udfff)"
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return (
            f"is not a valid regular expression ({reason}); note that backreferences like \\1 "
            "and lookarounds like (?=…) are not supported"
        )
    return None


def matches(pattern: str, value: str) -> bool:
    """Whether the whole of `value` matches `pattern`.

    A stored pattern RE2 refuses (saved before patterns were checked with RE2) matches nothing:
    the answer is refused rather than accepted unchecked, and the log says which pattern to fix.
    """
    try:
        compiled = _compiled(pattern)
    except (re2.error, UnicodeEncodeError):
        log.error("schema pattern %r cannot be compiled by RE2; answers to it are refused until it is fixed", pattern)
        return False
    try:
        return compiled.fullmatch(value) is not None
    except UnicodeEncodeError:  # an unpaired surrogate (JSON "\\ud800") is not text anyone typed
        return False
