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


def write_invoice_files(
    html: str, html_file: Path, pdf_file: Path | None = None, chromium: Path | None = None, timeout_s: float = 60.0
) -> bool:
    """Write an invoice's HTML (and, given `pdf_file` and `chromium`, its PDF) so that a crash at any point leaves
    the old files or the new ones, never a torn file; return whether the HTML changed.

    Both are written to hidden staging files in the same folder and renamed into place, the PDF first and the
    HTML last: an HTML file equal to `html` therefore proves its PDF is current, and a re-run redoes whatever a
    crash left unfinished. Unchanged files are not touched. A crash by exception removes the staging files; one
    by SIGKILL may leave a `.<name>.tmp.*` file, which the next write replaces.
    """
    changed = not html_file.is_file() or html_file.read_text(encoding="utf-8") != html
    print_it = pdf_file is not None and chromium is not None and (changed or not pdf_file.is_file())
    if not (changed or print_it):
        return False
    staged_html = html_file.with_name(f".{html_file.stem}.tmp.html")
    staged_pdf = html_file.with_name(f".{html_file.stem}.tmp.pdf")
    try:
        staged_html.write_text(html, encoding="utf-8")
        if print_it and pdf_file is not None and chromium is not None:
            print_pdf(staged_html, staged_pdf, chromium, timeout_s)
            staged_pdf.replace(pdf_file)
        staged_html.replace(html_file)
    finally:
        staged_html.unlink(missing_ok=True)
        staged_pdf.unlink(missing_ok=True)
    return changed
