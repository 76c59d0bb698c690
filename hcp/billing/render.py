"""Invoices as documents: HTML from a jinja2 template, and PDF printed by headless Chromium when available."""

from __future__ import annotations

import subprocess
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from hcp.billing.exceptions import BillingError
from hcp.billing.invoices import CLOSED, Invoice
from hcp.billing.lines import InvoiceLine, LineKind, format_usd
from hcp.billing.ratecards import RateCard

_SECTION_TITLES = {
    LineKind.USAGE: "GPU usage",
    LineKind.OVERAGE: "Commitment",
    LineKind.COMMITMENT_SHORTFALL: "Commitment",
    LineKind.PREEMPTION_CREDIT: "Credits",
    LineKind.SLA_CREDIT: "Credits",
    LineKind.MINIMUM_CHARGE: "Minimum charge",
}

_environment = Environment(
    loader=PackageLoader("hcp.billing", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)


def _quantity(line: InvoiceLine) -> str:
    if not line.unit:
        return ""
    if line.unit == "GPU-hour":
        return f"{line.quantity:,.4f}"
    if line.unit == "USD":
        return f"{line.quantity:,.2f}"
    return f"{line.quantity:,.0f}"


def _unit_price(line: InvoiceLine) -> str:
    if not line.unit:
        return ""
    if line.unit == "USD":
        return f"{line.unit_price_usd * 100:.2f}%"
    price = line.unit_price_usd
    places = 2 if price == price.quantize(Decimal("0.01")) else 4
    return ("-" if price < 0 else "") + f"${abs(price):,.{places}f}"


def _sections(invoice: Invoice) -> list[dict]:
    sections: dict[str, dict] = {}
    for number, line in enumerate(invoice.lines, start=1):
        title = (
            f"Adjustments for {line.adjusts_period_id} (late data)"
            if line.is_adjustment
            else _SECTION_TITLES[line.line_kind]
        )
        section = sections.setdefault(title, {"title": title, "rows": [], "cents": 0})
        section["cents"] += line.amount_cents
        section["rows"].append(
            {
                "number": number,
                "description": line.description,
                "quantity": _quantity(line),
                "unit": line.unit,
                "unit_price": _unit_price(line),
                "amount": format_usd(line.amount_cents),
            }
        )
    return [{**s, "total": format_usd(s["cents"])} for s in sections.values()]


def render_invoice_html(invoice: Invoice, card: RateCard, issuer_name: str, issuer_address: str) -> str:
    """The invoice as a self-contained HTML page (no external resources), ready to print."""
    period = invoice.period
    last_day = (period.end - timedelta(days=1)).date()
    issued = invoice.issued_at.date() if invoice.status == CLOSED and invoice.issued_at else None
    return _environment.get_template("invoice.html.j2").render(
        invoice=invoice,
        card=card,
        issuer_name=issuer_name,
        issuer_address=issuer_address,
        period_text=f"{period.start.date().isoformat()} to {last_day.isoformat()} ({period.period_id})",
        issued_text=issued.isoformat() if issued else "not issued (draft)",
        due_text=(issued + timedelta(days=card.payment_terms_days)).isoformat() if issued else "-",
        sections=_sections(invoice),
        total=format_usd(invoice.total_cents),
    )


def print_pdf(html_file: Path, pdf_file: Path, chromium: Path, timeout_s: float = 60.0) -> Path:
    """Print an HTML file to PDF with headless Chromium (offline); raise `BillingError` if it fails."""
    with tempfile.TemporaryDirectory(prefix="hcp-chromium-") as profile:
        command = [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file.resolve()}",
            html_file.resolve().as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout_s, check=True)
        except (OSError, subprocess.SubprocessError) as err:
            raise BillingError(f"printing {html_file} to PDF with {chromium} failed: {err}") from err
    if not pdf_file.is_file() or pdf_file.read_bytes()[:5] != b"%PDF-":
        raise BillingError(f"{chromium} did not write a PDF to {pdf_file}")
    return pdf_file
