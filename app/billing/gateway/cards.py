"""Card input: Luhn, expiry (MM/YY, not past), CVC and name, with a message per field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.billing.gateway.base import CardDetails
from app.models.base import utcnow

FIELDS = ("card_number", "card_expiry", "card_cvc", "card_name")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in {"34", "37"}:
        return "Amex"
    if 51 <= int(digits[:2] or 0) <= 55 or 2221 <= int(digits[:4] or 0) <= 2720:
        return "Mastercard"
    if digits.startswith(("6011", "65")):
        return "Discover"
    return "Card"


def _number(raw: str) -> tuple[str | None, str | None]:
    digits = re.sub(r"[\s-]", "", raw or "")
    if not digits:
        return None, "Enter your card number"
    if not digits.isascii() or not digits.isdigit() or not 12 <= len(digits) <= 19:
        return None, "Enter the 12 to 19 digits on the front of your card"
    if not luhn_ok(digits):
        return None, "That card number isn't valid. Check the digits"
    return digits, None


def _expiry(raw: str, now: datetime) -> tuple[tuple[int, int] | None, str | None]:
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", raw or "")
    if not raw or not raw.strip():
        return None, "Enter the expiry date (MM/YY)"
    if not match:
        return None, "Use the format MM/YY, for example 08/29"
    month, year = int(match.group(1)), int(match.group(2))
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        return None, "The month must be between 01 and 12"
    if (year, month) < (now.year, now.month):
        return None, "This card has expired"
    if year > now.year + 20:
        return None, "Check the expiry year"
    return (month, year), None


def _cvc(raw: str, brand: str | None) -> tuple[str | None, str | None]:
    value = (raw or "").strip()
    length = 4 if brand == "Amex" else 3
    if not value:
        return None, "Enter the security code"
    if not value.isascii() or not value.isdigit() or len(value) != length:
        side = "front" if length == 4 else "back"
        return None, f"The security code is the {length} digits on the {side} of your card"
    return value, None


def _name(raw: str) -> tuple[str | None, str | None]:
    value = " ".join((raw or "").split())
    if not value:
        return None, "Enter the name on the card"
    if len(value) > 100:
        return None, "Keep the name under 100 characters"
    if _CONTROL.search(value) or "<" in value or ">" in value:
        return None, "Use only the letters printed on the card"
    return value, None


@dataclass(frozen=True)
class CardEntry:
    """The card fields as typed (nothing checked yet). Never stored, never logged."""

    number: str = ""
    expiry: str = ""
    cvc: str = ""
    name: str = ""

    def __repr__(self) -> str:  # keep the number out of logs and tracebacks
        return "CardEntry(…)"


def check_card(entry: CardEntry) -> tuple[CardDetails | None, dict[str, str]]:
    """Parse and check the card fields. Returns (card, {}) or (None, {field: message})."""
    found: dict[str, str | None] = {}
    number, found["card_number"] = _number(entry.number)
    expiry, found["card_expiry"] = _expiry(entry.expiry, utcnow())
    cvc, found["card_cvc"] = _cvc(entry.cvc, brand_of(number) if number else None)
    name, found["card_name"] = _name(entry.name)
    errors = {k: v for k, v in found.items() if v}
    if errors or number is None or expiry is None or cvc is None or name is None:
        return None, errors
    return CardDetails(number=number, exp_month=expiry[0], exp_year=expiry[1], cvc=cvc, name=name), {}


def entry_from(form: Mapping[str, object]) -> CardEntry:
    return CardEntry(*(str(form.get(name, "") or "") for name in FIELDS))


def read_card(form: Mapping[str, object]) -> tuple[CardDetails | None, dict[str, str]]:
    """`check_card` of the card fields of a posted mapping."""
    return check_card(entry_from(form))
