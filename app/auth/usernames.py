"""Username availability: validate first, then a Redis cache with a stampede guard.

Taken names are cached for an hour, free ones for 5 minutes (a name can be
registered at any moment, so "available" must not live long). On a miss one
request takes a `SET NX` lock and asks the database; concurrent requests for
the same name wait briefly for its answer, so N misses cost one query.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field

import redis
import sqlalchemy as sa
from flask import current_app, has_app_context

from app.extensions import db
from app.models.base import utcnow
from app.models.user import User, UsernameHold
from app.redis_client import get_redis

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[a-z0-9_.]+$")
MIN_LENGTH, MAX_LENGTH = 3, 30
TAKEN_TTL = 3600
AVAILABLE_TTL = 300
LOCK_TTL = 5
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.02
MAX_SUGGESTIONS = 5
GENERATED_STEM = 24  # leaves room for a numeric suffix within MAX_LENGTH
SUFFIXES = ("_official", ".hq", "_dev", ".app", "_hq", "_io", ".team", "_online")
# Names that would pass for the site, its staff or its system mailboxes (the site name is added).
# Signup, the availability check and the names made for social sign-ups refuse them; an operator's
# `flask create-admin` may still use them: they are reserved for the staff.
RESERVED = frozenset(
    [
        "admin",
        "administrator",
        "root",
        "superuser",
        "sysadmin",
        "system",
        "staff",
        "moderator",
        "operator",
        "owner",
        "official",
        "support",
        "help",
        "helpdesk",
        "billing",
        "payments",
        "invoices",
        "security",
        "abuse",
        "postmaster",
        "hostmaster",
        "webmaster",
        "mail",
        "email",
        "noreply",
        "mailer",
        "daemon",
        "info",
        "contact",
        "sales",
        "team",
        "account",
        "accounts",
        "auth",
        "login",
        "signup",
        "api",
        "www",
        "static",
        "null",
        "anonymous",
        "everyone",
    ]
)
# Words that, added to a reserved one, still read as official: support_team, admin.hq, billing_official.
DECORATIONS = frozenset({*(s.strip("._") for s in SUFFIXES), "the", "real", "main", "team", "staff", "desk"})


def normalize_username(raw: str | None) -> str:
    return (raw or "").strip().lower()


def username_problem(name: str) -> str | None:
    """Why a normalized name can't be a username; None when its shape is fine."""
    if not name:
        return "Choose a username."
    if len(name) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(name) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if not USERNAME_RE.match(name):
        return "Use only lowercase letters, digits, dots and underscores."
    return None


def _words(name: str) -> list[str]:
    """The letters of a name, split at dots, underscores and digits: "ad.min_2" → ["ad", "min"]."""
    return [w for w in re.split(r"[._0-9]+", name) if w]


def _reserved_words() -> frozenset[str]:
    """RESERVED plus the site name (once an app is running: `candidate_names` is also used without one)."""
    site = current_app.config["SITE_NAME"] if has_app_context() else ""
    site = unicodedata.normalize("NFKD", site).encode("ascii", "ignore").decode()
    return RESERVED | {"".join(_words(re.sub(r"[^a-z0-9]+", "_", site.lower())))} - {""}


def is_reserved(name: str) -> bool:
    """Whether a normalized name would pass for the site or its staff: a reserved word, however
    spelled with dots, underscores and digits (ad.min, admin_2), alone or with decorations (support_team)."""
    words, reserved = _words(name), _reserved_words()
    for start in range(len(words)):
        for end in range(start + 1, len(words) + 1):
            rest = words[:start] + words[end:]
            if "".join(words[start:end]) in reserved and all(w in DECORATIONS or w in reserved for w in rest):
                return True
    return False


def _key(name: str) -> str:
    return f"username:{name}"


def _query_taken(names: list[str]) -> set[str]:
    """The names registered, or held after their account was deleted (app/account/erasure.py)."""
    held = sa.select(UsernameHold.username).where(UsernameHold.username.in_(names), UsernameHold.held_until > utcnow())
    return set(db.session.scalars(sa.select(User.username).where(User.username.in_(names)).union(held)))


def _cache(client: redis.Redis, name: str, taken: bool) -> None:
    client.set(_key(name), b"taken" if taken else b"available", ex=TAKEN_TTL if taken else AVAILABLE_TTL)


def is_taken(name: str) -> bool:
    """Whether a valid, normalized name is registered (cached; one query per miss, however many ask)."""
    client = get_redis()
    try:
        cached = client.get(_key(name))
        if cached is not None:
            return cached == b"taken"
        lock = f"{_key(name)}:lock"
        if not client.set(lock, b"1", nx=True, ex=LOCK_TTL):
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
                cached = client.get(_key(name))
                if cached is not None:
                    return cached == b"taken"
            # The lock holder died or is slow: answer from the database rather than keep the user waiting.
            return bool(_query_taken([name]))
        try:
            # Someone may have answered between our miss and our lock (then released it).
            cached = client.get(_key(name))
            if cached is not None:
                return cached == b"taken"
            taken = bool(_query_taken([name]))
            _cache(client, name, taken)
        finally:
            client.delete(lock)
        return taken
    except redis.RedisError as exc:
        log.warning("username cache unavailable, asking the database: %s", exc)
        return bool(_query_taken([name]))


def remember_taken(name: str) -> None:
    """Called once a username is registered: its cache entry says so at once."""
    try:
        _cache(get_redis(), name, True)
    except redis.RedisError as exc:
        log.warning("username cache unavailable: %s", exc)


def candidate_names(name: str) -> list[str]:
    """Deterministic alternatives to `name`: the same input always gives the same list."""
    digest = hashlib.sha256(name.encode()).digest()
    numbers = [str(10 + digest[i] % 90) for i in range(3)] + [str(100 + int.from_bytes(digest[3:5], "big") % 900)]
    candidates = []
    for suffix in (*SUFFIXES[:3], *(f"_{n}" for n in numbers[:2]), *SUFFIXES[3:], *numbers[2:]):
        base = name[: MAX_LENGTH - len(suffix)].rstrip("._") or name[: MAX_LENGTH - len(suffix)]
        candidate = f"{base}{suffix}"
        if (
            candidate != name
            and username_problem(candidate) is None
            and not is_reserved(candidate)
            and candidate not in candidates
        ):
            candidates.append(candidate)
    return candidates


def stem_from(*sources: str | None) -> str:
    """A username stem from the first source that makes a valid, unreserved one ("Zoë Ångström" → zoe_angstrom),
    else "member".

    Short enough to take a numeric suffix (see `free_username`).
    """
    for source in sources:
        ascii_text = unicodedata.normalize("NFKD", source or "").encode("ascii", "ignore").decode().lower()
        stem = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:GENERATED_STEM].rstrip("_")
        if username_problem(stem) is None and not is_reserved(stem):
            return stem
    return "member"


def free_username(stem: str) -> str:
    """`stem`, or `stem2`, `stem3` …: the first that nobody has, for an account that gets its name
    made for it (social sign-in). Same stem and same users, same name.

    Asks the database, not the cache: this name is about to be written. Numbers rather than
    `candidate_names`: a suggestion like `_official` is for a person to choose, not to be given.
    """
    taken = set(
        db.session.scalars(
            sa.select(User.username)
            .where(User.username.startswith(stem, autoescape=True))
            .union(sa.select(UsernameHold.username).where(UsernameHold.username.startswith(stem, autoescape=True)))
        )
    )
    return next(c for c in (stem if n == 1 else f"{stem}{n}" for n in itertools.count(1)) if c not in taken)


def suggestions(name: str) -> list[str]:
    """Up to five available alternatives (one query for those the cache doesn't know)."""
    candidates = candidate_names(name)
    client = get_redis()
    try:
        cached = dict(zip(candidates, client.mget([_key(c) for c in candidates]), strict=True))
    except redis.RedisError:
        cached = {c: None for c in candidates}
    unknown = [c for c, v in cached.items() if v is None]
    taken = _query_taken(unknown) if unknown else set()
    try:
        with client.pipeline(transaction=False) as pipe:
            for c in unknown:
                pipe.set(
                    _key(c), b"taken" if c in taken else b"available", ex=TAKEN_TTL if c in taken else AVAILABLE_TTL
                )
            pipe.execute()
    except redis.RedisError:
        pass
    free = [c for c in candidates if not (cached[c] == b"taken" or c in taken)]
    return free[:MAX_SUGGESTIONS]


@dataclass
class Availability:
    name: str
    status: str  # available, taken, reserved, invalid, empty
    message: str
    suggestions: list[str] = field(default_factory=list)


def check_username(raw: str | None) -> Availability:
    name = normalize_username(raw)
    if not name:
        return Availability(name, "empty", "3–30 characters: lowercase letters, digits, dots and underscores.")
    problem = username_problem(name)
    if problem:
        return Availability(name, "invalid", problem)
    if is_reserved(name):
        # No suggestions: every variation we would offer ("admin_official", "admin_42") is reserved too.
        site = current_app.config["SITE_NAME"]
        return Availability(name, "reserved", f"“{name}” is reserved: it could pass for {site} or its staff.")
    if is_taken(name):
        return Availability(name, "taken", f"“{name}” is taken.", suggestions(name))
    return Availability(name, "available", f"“{name}” is available.")
