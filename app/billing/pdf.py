"""Invoice PDFs, rendered by WeasyPrint from the same template as the printable page."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, render_template

from app.models.billing import Invoice


def render_invoice_pdf(invoice: Invoice, original_number: str | None = None) -> bytes:
    from weasyprint import HTML  # imported on use: it loads Pango

    static = Path(current_app.static_folder or "static")
    html = render_template(
        "billing/invoice_pdf.html",
        invoice=invoice,
        original_number=original_number,
        bank_details=current_app.config["BANK_TRANSFER_DETAILS"],
        logo_src=(static / "img" / "logo-print.svg").as_uri(),
    )
    # Local files only: rendering never waits on the network.
    pdf: bytes = HTML(string=html, base_url=static.as_uri() + "/").write_pdf()
    return pdf
