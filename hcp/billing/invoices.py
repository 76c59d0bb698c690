"""Invoices: one per customer per period, its charge lines plus adjustment lines for late data.

Late-data policy (docs/billing.md): a closed (sent) invoice is never rewritten. When usage or credit events of a
closed period arrive later, that period is priced again with everything known now; the difference from what
was billed for it (its own lines and earlier adjustments) becomes adjustment lines on the customer's next
invoice, line by line (same kind, GPU type, class and tier), so every total stays exact to the cent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

import polars as pl

from hcp.billing.lines import InvoiceLine, LineKind
from hcp.billing.periods import BillingPeriod
from hcp.billing.pricing import price_period
from hcp.billing.ratecards import RateCard, RateCardBook

DRAFT, CLOSED = "draft", "closed"


def invoice_id_for(customer_id: str, period_id: str) -> str:
    return f"INV-{period_id}-{customer_id}"


@dataclass(frozen=True)
class Invoice:
    """A customer's invoice for a period: its lines in order, and its status (draft or closed)."""

    customer_id: str
    period: BillingPeriod
    lines: tuple[InvoiceLine, ...]
    status: str = DRAFT
    issued_at: datetime | None = None

    @property
    def invoice_id(self) -> str:
        return invoice_id_for(self.customer_id, self.period.period_id)

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def content_sha256(self) -> str:
        """Fingerprint of what the invoice says (ids, lines, amounts); equal fingerprints, equal invoices."""
        text = "\n".join([self.invoice_id, *(_canonical(line) for line in self.lines)])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class BillingRun:
    """What billing one period produced: invoices to store, invoices left alone because their period is closed,
    and for those, the late changes that wait for the next invoice."""

    invoices: tuple[Invoice, ...]
    already_closed: tuple[str, ...] = ()
    pending_adjustments: dict[str, tuple[InvoiceLine, ...]] = field(default_factory=dict)


def in_period(frame: pl.DataFrame, column: str, period: BillingPeriod) -> pl.DataFrame:
    return frame.filter((pl.col(column) >= period.start) & (pl.col(column) < period.end))


def charge_lines(
    usage: pl.DataFrame, credit_events: pl.DataFrame, card: RateCard, period: BillingPeriod
) -> list[InvoiceLine]:
    """`card`'s customer's charge lines for `period`, from all usage and credit events known (every customer)."""
    mine = usage.filter(pl.col("customer_id") == card.customer_id)
    credits = in_period(credit_events.filter(pl.col("customer_id") == card.customer_id), "decided_at", period)
    return price_period(in_period(mine, "hour_start", period), credits["credit_kind"].to_list(), card)


def adjustment_lines(
    repriced: Sequence[InvoiceLine], billed: Sequence[InvoiceLine], period_id: str
) -> list[InvoiceLine]:
    """Lines that bring what was billed for `period_id` to what it prices at now (none if nothing changed)."""
    keys = list(dict.fromkeys(line.key for line in (*billed, *repriced)))
    adjustments = []
    for key in keys:
        new = [line for line in repriced if line.key == key]
        old = [line for line in billed if line.key == key]
        amount = sum(line.amount_cents for line in new) - sum(line.amount_cents for line in old)
        quantity = sum((line.quantity for line in new), Decimal(0)) - sum((line.quantity for line in old), Decimal(0))
        if amount == 0 and quantity == 0:
            continue
        template = (new or old)[0]
        adjustments.append(
            replace(
                template,
                description=f"Adjustment for {period_id}: {template.description.split(': ', 1)[-1]}",
                amount_cents=amount,
                quantity=quantity,
                adjusts_period_id=period_id,
            )
        )
    return adjustments


def late_adjustments(
    usage: pl.DataFrame,
    credit_events: pl.DataFrame,
    card: RateCard,
    closed: Sequence[Invoice],
    before: datetime,
) -> list[InvoiceLine]:
    """Adjustments for every closed period of `card`'s customer that ended by `before`."""
    mine = [invoice for invoice in closed if invoice.customer_id == card.customer_id]
    lines = []
    for invoice in sorted(mine, key=lambda i: i.period):
        if invoice.period.end > before:
            continue
        period_id = invoice.period.period_id
        billed = [line for line in invoice.lines if not line.is_adjustment]
        billed += [line for other in mine for line in other.lines if line.adjusts_period_id == period_id]
        lines += adjustment_lines(charge_lines(usage, credit_events, card, invoice.period), billed, period_id)
    return lines


def build_invoices(
    usage: pl.DataFrame,
    credit_events: pl.DataFrame,
    book: RateCardBook,
    period: BillingPeriod,
    closed: Sequence[Invoice] = (),
    customers: Iterable[str] | None = None,
) -> BillingRun:
    """Invoices of `period` for every customer with a rate card (or `customers`), as drafts.

    `usage` is metered usage (metering.USAGE_SCHEMA) and `credit_events` has customer_id, credit_kind and
    decided_at, both over all time known; `closed` holds the closed invoices. A customer whose invoice for
    `period` is closed gets none (its late changes are in `pending_adjustments`). Raises `RateCardError` if a
    customer with usage in the period has no rate card.
    """
    for customer_id in in_period(usage, "hour_start", period)["customer_id"].unique().sort().to_list():
        book.card_for(customer_id)
    wanted = list(customers) if customers is not None else [card.customer_id for card in book.rate_cards]
    closed_here = {i.customer_id: i for i in closed if i.period.period_id == period.period_id}
    invoices, pending = [], {}
    for customer_id in wanted:
        card = book.card_for(customer_id)
        if customer_id in closed_here:
            late = late_adjustments(usage, credit_events, card, [*closed], before=period.end)
            pending[closed_here[customer_id].invoice_id] = tuple(
                line for line in late if line.adjusts_period_id == period.period_id
            )
            continue
        lines = charge_lines(usage, credit_events, card, period)
        lines += late_adjustments(usage, credit_events, card, closed, before=period.start)
        invoices.append(Invoice(customer_id, period, tuple(lines)))
    return BillingRun(tuple(invoices), tuple(i.invoice_id for i in closed_here.values()), pending)


LINE_SCHEMA: dict[str, pl.DataType] = {
    "invoice_id": pl.String(),
    "line_no": pl.Int32(),
    "customer_id": pl.String(),
    "period_id": pl.String(),
    "line_kind": pl.String(),
    "description": pl.String(),
    "gpu_type": pl.String(),
    "priority_class": pl.String(),
    "tier": pl.Int32(),
    "quantity": pl.Decimal(18, 6),
    "unit": pl.String(),
    "unit_price_usd": pl.Decimal(18, 6),
    "amount_cents": pl.Int64(),
    "adjusts_period_id": pl.String(),
}

INVOICE_SCHEMA: dict[str, pl.DataType] = {
    "invoice_id": pl.String(),
    "customer_id": pl.String(),
    "period_id": pl.String(),
    "period_start": pl.Datetime("us", "UTC"),
    "period_end": pl.Datetime("us", "UTC"),
    "status": pl.String(),
    "currency": pl.String(),
    "total_cents": pl.Int64(),
    "line_count": pl.Int32(),
    "content_sha256": pl.String(),
    "issued_at": pl.Datetime("us", "UTC"),
}


def invoice_frames(invoices: Sequence[Invoice]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(invoices, invoice lines) as frames with `INVOICE_SCHEMA` and `LINE_SCHEMA`, for storage."""
    headers = [
        {
            "invoice_id": i.invoice_id,
            "customer_id": i.customer_id,
            "period_id": i.period.period_id,
            "period_start": i.period.start,
            "period_end": i.period.end,
            "status": i.status,
            "currency": "USD",
            "total_cents": i.total_cents,
            "line_count": len(i.lines),
            "content_sha256": i.content_sha256,
            "issued_at": i.issued_at,
        }
        for i in invoices
    ]
    rows = [
        {
            "invoice_id": i.invoice_id,
            "line_no": number,
            "customer_id": i.customer_id,
            "period_id": i.period.period_id,
            "line_kind": str(line.line_kind),
            "description": line.description,
            "gpu_type": line.gpu_type,
            "priority_class": line.priority_class,
            "tier": line.tier,
            "quantity": line.quantity,
            "unit": line.unit,
            "unit_price_usd": line.unit_price_usd,
            "amount_cents": line.amount_cents,
            "adjusts_period_id": line.adjusts_period_id,
        }
        for i in invoices
        for number, line in enumerate(i.lines, start=1)
    ]
    return pl.DataFrame(headers, schema=INVOICE_SCHEMA), pl.DataFrame(rows, schema=LINE_SCHEMA)


def invoices_from_frames(
    headers: pl.DataFrame, lines: pl.DataFrame, periods: dict[str, BillingPeriod]
) -> list[Invoice]:
    """Invoices back from stored frames (the inverse of `invoice_frames`); `periods` maps period_id to period."""
    invoices = []
    for header in headers.sort("invoice_id").iter_rows(named=True):
        own = lines.filter(pl.col("invoice_id") == header["invoice_id"]).sort("line_no")
        invoices.append(
            Invoice(
                customer_id=header["customer_id"],
                period=periods[header["period_id"]],
                lines=tuple(_line(row) for row in own.iter_rows(named=True)),
                status=header["status"],
                issued_at=header["issued_at"],
            )
        )
    return invoices


def _canonical(line: InvoiceLine) -> str:
    return "|".join(
        str(part)
        for part in (
            line.line_kind,
            line.description,
            line.amount_cents,
            f"{line.quantity:.6f}",
            line.unit,
            f"{line.unit_price_usd:.6f}",
            line.gpu_type,
            line.priority_class,
            line.tier,
            line.adjusts_period_id,
        )
    )


def _line(row: dict) -> InvoiceLine:
    return InvoiceLine(
        line_kind=LineKind(row["line_kind"]),
        description=row["description"],
        amount_cents=int(row["amount_cents"]),
        quantity=Decimal(row["quantity"]) if row["quantity"] is not None else Decimal(0),
        unit=row["unit"] or "",
        unit_price_usd=Decimal(row["unit_price_usd"]) if row["unit_price_usd"] is not None else Decimal(0),
        gpu_type=row["gpu_type"],
        priority_class=row["priority_class"],
        tier=row["tier"],
        adjusts_period_id=row["adjusts_period_id"],
    )
