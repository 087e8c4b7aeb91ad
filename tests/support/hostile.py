"""What a hostile client sends, shared by the bad-input sweeps (per form field, per billing URL, per route)."""

from __future__ import annotations

import json

# Text typed into a field.
TEXT = ["", " ", "x" * 5000, "admin\u200b", "<script>alert(1)</script>", "' OR 1=1 --", "12345\x00", "🙂" * 40]
# Values for ids, quantities and choices (numbers out of range, paths, full-width digits …).
VALUES = [
    "",
    "x" * 5000,
    "admin\u200b",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "nul\x00byte",
    "-1",
    "1e9",
    "９",
    "../../etc/passwd",
]
# Integers no id column holds: past Postgres int4 and int8, zero, thousands of digits.
HUGE_INTS = ["2147483648", "99999999999999999999", "9223372036854775808", "0", "0000000000000000000001", "9" * 5000]


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# JSON documents of every shape where a form was expected.
JSON_BODIES = [
    json.dumps(body)
    for body in (
        {
            "identifier": 1,
            "password": [1, 2],
            "email": None,
            "username": {"a": {"b": [None]}},
            "code": 123456,
            "remember": {"x": 1},
            "plan_id": 2**64,
            "quantity": [],
            "csrf_token": None,
        },
        [1, 2, 3],
        5,
        None,
        True,
        "just a string",
        {"nested": {"deeper": {"deepest": [[[[{}]]]]}}},
        {"x": "y" * 100_000},
    )
] + [deep_json(10_000), "{", "\u0000"]

# Bodies no page sends: (content type, bytes).
NOT_FORMS = [
    ("text/plain", b"identifier=ada&password=x"),
    ("application/xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"),
    ("application/octet-stream", b"\x00\xff" * 512),
    (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="email"; filename="x.txt"\r\n\r\nnot a field\r\n--b--\r\n',
    ),
    (None, b'{"identifier": 1}'),
]
# Form bodies a browser would never produce: a wrong charset, broken escapes, thousands of parts, no boundary.
BROKEN_FORMS = [
    ("application/x-www-form-urlencoded; charset=utf-16", "identifier=ada".encode("utf-16")),
    ("application/x-www-form-urlencoded", b"%ff%fe=%c3%28&a=%zz&" + b"k=v&" * 2000),
    ("multipart/form-data", b"no boundary at all"),
    ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\nunterminated'),
]
