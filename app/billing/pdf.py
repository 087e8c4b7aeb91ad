"""Invoice PDFs, rendered by WeasyPrint from the same template as the printable page."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template

from app.billing.invoices import issued_by
from app.models.billing import Invoice


def render_invoice_pdf(invoice: Invoice, original_number: str | None = None) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango

    static = Path(current_app.static_folder or "static")
    html = render_template(
        "billing/invoice_pdf.html",
        invoice=invoice,
        original_number=original_number,
        seller=issued_by(invoice),
        bank_details=current_app.config["BANK_TRANSFER_DETAILS"],
        logo_src=(static / "img" / "logo-print.svg").as_uri(),
    )
    # Local files only: rendering never waits on the network. PDF/UA-1 makes the file tagged
    # (structure tree, /MarkInfo), so a screen reader reads it in order; the language comes
    # from the template's <html lang> and the title from its <title>.
    document = HTML(string=html, base_url=static.as_uri() + "/")
    pdf: bytes = document.write_pdf(pdf_variant="pdf/ua-1")
    return pdf
