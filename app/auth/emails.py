"""Email addresses: the one normal form we store, look up and send to.

Every way an address comes in (signup, login identifier, code login, password reset, social
sign-in, `flask create-admin`, the CLI) goes through `normalize_email` or `email_key`, so one
address has one spelling: NFC, lower-cased, the domain IDNA-encoded (`ada@xn--exmple-cua.com`).
Our mail server speaks plain SMTP (no SMTPUTF8), so a local part with non-ASCII characters
(often a look-alike: Cyrillic "а" for Latin "a") is refused at the field instead of failing
later as a job.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254
INVALID = "Enter a valid email address, like name@example.com."
UNDELIVERABLE = (
    "We can't deliver to this address: the part before the @ has characters our mail server can't "
    "send to (such as “{chars}”, which can look like plain letters). Use a–z, digits and . _ + -."
)
TOO_LONG = "That email address is too long."


class InvalidEmail(ValueError):
    """An address we can't store or deliver to; the message is for the form field."""


def normalize_email(raw: object) -> str:
    """The address in its normal form, or InvalidEmail with a message for the field."""
    text = unicodedata.normalize("NFC", str(raw or "").strip())
    if len(text) > MAX_LENGTH:
        raise InvalidEmail(TOO_LONG)
    foreign = [c for c in text.rpartition("@")[0] if not c.isascii()]
    if foreign and all(unicodedata.category(c)[0] in "LMN" for c in foreign):  # letters, not invisible tricks
        raise InvalidEmail(UNDELIVERABLE.format(chars="".join(dict.fromkeys(foreign))[:5]))
    try:
        ascii_email: str | None = validate_email(text, check_deliverability=False, allow_smtputf8=False).ascii_email
        address = (ascii_email or text).lower()
    except EmailNotValidError:
        raise InvalidEmail(INVALID) from None
    if len(address) > MAX_LENGTH:  # punycode is longer than the Unicode it encodes
        raise InvalidEmail(TOO_LONG)
    return address


def email_key(raw: object) -> str:
    """What to look an address up (or count attempts) by: its normal form when it has one, else the text
    lower-cased, which matches only rows stored before addresses were normalized."""
    try:
        return normalize_email(raw)
    except InvalidEmail:
        return str(raw or "").strip().lower()[:MAX_LENGTH]


def deliverable_email(raw: object) -> str | None:
    """The normal form, or None for an address we could not send to (e.g. a social provider's)."""
    try:
        return normalize_email(raw) if raw else None
    except InvalidEmail:
        return None


def mask_email(email: str | None) -> str:
    """a•••@example.com: enough to recognise, not enough to harvest."""
    if not email or "@" not in email:
        return "your email address"
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"
