"""Phone numbers: parsed with `phonenumbers`, stored as E.164."""

from __future__ import annotations

import phonenumbers
from flask import current_app

# ASCII only: phonenumbers would quietly drop invisible characters and read other scripts' digits.
PHONE_CHARACTERS = frozenset("0123456789+-(). ")


def normalize_phone(raw: str) -> str:
    """E.164 for a valid number; ValueError (with a message for the form) otherwise.

    Numbers without a +country prefix are read in PHONE_DEFAULT_REGION.
    """
    text = (raw or "").strip()
    if len(text) > 32:
        raise ValueError("That's too long for a phone number.")
    if any(ch not in PHONE_CHARACTERS for ch in text):
        raise ValueError("Use digits, spaces and + - ( ) . only, like +1 415 555 0100.")
    region = current_app.config.get("PHONE_DEFAULT_REGION", "US")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError("Enter a phone number with its country code, like +1 415 555 0100.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("That isn't a valid phone number. Include the country code, like +44 7911 123456.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def looks_like_phone(text: str) -> bool:
    stripped = text.strip()
    return sum(ch.isdigit() for ch in stripped) >= 6 and all(ch in PHONE_CHARACTERS for ch in stripped)
