"""The invoice PDF is a tagged PDF (PDF/UA-1) with its language and title set, so a screen reader can read it."""

import logging
import re
import subprocess
import zlib

from tests.billing.test_invoices import _buy, _invoices


def _pdfinfo(data: bytes) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def _objects(data: bytes) -> bytes:
    """The file's bytes with every Flate stream inflated (the catalog may sit in an object stream)."""
    parts = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(parts)


def test_the_invoice_pdf_is_tagged_with_its_language_and_a_title(app, signed_in, shop, caplog):
    _buy(signed_in, shop)
    invoice = _invoices(app)[0]
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        data = signed_in.get(f"/invoices/{invoice.id}.pdf").data
    info = _pdfinfo(data)
    assert info["Tagged"] == "yes"
    assert info["Title"] == f"Invoice {invoice.number} · MultiProduct"
    objects = _objects(data)
    assert re.search(rb"/MarkInfo\s*<<\s*/Marked\s+true", objects)
    assert re.search(rb"/Lang\s*\(en\)", objects)
    assert b"/StructTreeRoot" in objects and b'pdfuaid:part="1"' in objects
    # Every image is described (WeasyPrint logs an error for a figure without alternative text).
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
