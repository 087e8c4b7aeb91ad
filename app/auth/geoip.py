"""An IP address as a place a person recognises ("Lisbon, Portugal"), from a MaxMind-format database.

`GEOIP_DATABASE` names a GeoLite2/GeoIP2 City or Country `.mmdb` file (the operator downloads it;
none ships with the app). Without one, or for an address it doesn't know, the place is the address
itself. Read with `maxminddb` (MaxMind's own reader); the file is opened once per process.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from typing import Any

import maxminddb
from flask import current_app

log = logging.getLogger(__name__)
UNKNOWN = "an unknown address"


@functools.lru_cache(maxsize=4)
def _reader(path: str) -> maxminddb.Reader | None:
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        log.warning("GeoIP database %s can't be read (%s): places are shown as IP addresses", path, exc)
        return None


def place_for(ip: str | None) -> str:
    """ "Lisbon, Portugal (203.0.113.7)" when the database knows the address; else the address."""
    if not ip:
        return UNKNOWN
    path = current_app.config.get("GEOIP_DATABASE")
    reader = _reader(path) if path else None
    if reader is None:
        return ip
    try:
        record: Any = reader.get(str(ipaddress.ip_address(ip)))
    except (ValueError, maxminddb.InvalidDatabaseError):
        return ip
    names = [_name(record, "city"), _name(record, "country")] if isinstance(record, dict) else []
    place = ", ".join(n for n in names if n)
    return f"{place} ({ip})" if place else ip


def _name(record: dict[str, Any], key: str) -> str | None:
    names = (record.get(key) or {}).get("names") or {}
    name = names.get("en")
    return str(name)[:80] if name else None
