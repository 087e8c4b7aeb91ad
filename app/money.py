"""Money: integer minor units, Decimal arithmetic, ROUND_HALF_UP once per line, and how an amount reads."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def to_decimal(value: Decimal | int | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def percent_of(amount_minor: int, percent: Decimal | int | float | str) -> int:
    """`percent` % of an amount in minor units, rounded half up to a whole minor unit."""
    value = Decimal(int(amount_minor)) * to_decimal(percent) / HUNDRED
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_text(value: Decimal | int | str) -> str:
    """Decimal("12.50") → "12.5"; Decimal("20.00") → "20"."""
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def discounted(amount_minor: int, percent: Decimal | int | float | str) -> int:
    """The amount less `percent` %, as the discount line would show it (amount - rounded discount)."""
    return int(amount_minor) - percent_of(amount_minor, percent)


# Currencies without a minor unit (amounts are whole yen, won …); every other one has cents.
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


def minor_exponent(currency: str) -> int:
    return 0 if (currency or "").upper() in ZERO_DECIMAL else 2


def to_major(amount_minor: int, currency: str) -> Decimal:
    """4900 USD → Decimal('49.00'); 500 JPY → Decimal('500')."""
    exponent = minor_exponent(currency)
    return (Decimal(int(amount_minor)) / (Decimal(10) ** exponent)).quantize(Decimal(1).scaleb(-exponent))


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "JPY": "¥"}


def format_money(amount_minor: int | None, currency: str = "USD") -> str:
    """4900 USD → "$49.00"; -500 JPY → "-¥500"; 100 CHF → "1.00 CHF". None → "" (the `money` filter)."""
    if amount_minor is None:
        return ""
    currency = (currency or "USD").upper()
    exponent = minor_exponent(currency)
    amount = to_major(amount_minor, currency)
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    number = f"{abs(amount):,.{exponent}f}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
