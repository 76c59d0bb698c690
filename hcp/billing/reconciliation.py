"""Reconciliation: the stream meter's usage against the warehouse's, priced with the same rate cards, to the cent.

Two independent paths meter the same telemetry: the stream meter (agent `meter_gpu_usage`, in Python, on the
live stream) and the warehouse (`fct_gpu_usage_hourly`, in SQL, on the landed messages). Both are priced here
with `pricing.usage_lines`; every usage line (customer, GPU type, priority class, tier) is compared in cents,
and every hourly usage row whose GPU-seconds differ is listed, so a difference is reported line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from hcp.billing.invoices import in_period
from hcp.billing.lines import InvoiceLine, usd
from hcp.billing.metering import USAGE_KEY
from hcp.billing.periods import BillingPeriod
from hcp.billing.pricing import usage_lines
from hcp.billing.ratecards import RateCardBook


@dataclass(frozen=True)
class ReconciledLine:
    """One priced usage line as the stream meter and as the warehouse see it."""

    customer_id: str
    description: str
    stream_gpu_hours: Decimal
    warehouse_gpu_hours: Decimal
    stream_cents: int
    warehouse_cents: int

    @property
    def difference_cents(self) -> int:
        return self.stream_cents - self.warehouse_cents


@dataclass(frozen=True)
class Reconciliation:
    """Every priced line of the period, and the hourly usage rows where the two meters disagree."""

    period_id: str
    lines: tuple[ReconciledLine, ...]
    hourly_differences: pl.DataFrame

    @property
    def differing_lines(self) -> tuple[ReconciledLine, ...]:
        return tuple(
            line for line in self.lines if line.difference_cents or line.stream_gpu_hours != line.warehouse_gpu_hours
        )

    @property
    def difference_cents(self) -> int:
        """Sum of the absolute per-line differences (0 means reconciled to the cent)."""
        return sum(abs(line.difference_cents) for line in self.lines)

    @property
    def ok(self) -> bool:
        return not self.differing_lines and self.hourly_differences.height == 0

    def summary(self) -> dict:
        return {
            "period_id": self.period_id,
            "lines": len(self.lines),
            "differing_lines": len(self.differing_lines),
            "differing_hours": self.hourly_differences.height,
            "stream_usd": str(usd(sum(line.stream_cents for line in self.lines))),
            "warehouse_usd": str(usd(sum(line.warehouse_cents for line in self.lines))),
            "difference_usd": str(usd(self.difference_cents)),
            "ok": self.ok,
        }


def reconcile_usage(
    stream: pl.DataFrame, warehouse: pl.DataFrame, book: RateCardBook, period: BillingPeriod
) -> Reconciliation:
    """Compare stream-metered and warehouse usage (both `metering.USAGE_SCHEMA`) within `period`."""
    stream, warehouse = in_period(stream, "hour_start", period), in_period(warehouse, "hour_start", period)
    customers = sorted(set(stream["customer_id"].to_list()) | set(warehouse["customer_id"].to_list()))
    lines: list[ReconciledLine] = []
    for customer_id in customers:
        card = book.card_for(customer_id)
        mine = pl.col("customer_id") == customer_id
        lines += _align(customer_id, usage_lines(stream.filter(mine), card), usage_lines(warehouse.filter(mine), card))
    joined = stream.join(warehouse, on=list(USAGE_KEY), how="full", coalesce=True, suffix="_warehouse")
    differences = (
        joined.rename({"gpu_seconds": "stream_gpu_seconds", "gpu_seconds_warehouse": "warehouse_gpu_seconds"})
        .with_columns(pl.col("stream_gpu_seconds", "warehouse_gpu_seconds").fill_null(0.0))
        .with_columns((pl.col("stream_gpu_seconds") - pl.col("warehouse_gpu_seconds")).alias("difference_gpu_seconds"))
        .filter(pl.col("difference_gpu_seconds").abs() > 1e-6)
        .sort(list(USAGE_KEY))
    )
    return Reconciliation(period.period_id, tuple(lines), differences)


def _align(customer_id: str, stream: list[InvoiceLine], warehouse: list[InvoiceLine]) -> list[ReconciledLine]:
    keys = list(dict.fromkeys(line.key for line in (*warehouse, *stream)))
    aligned = []
    for key in keys:
        s = [line for line in stream if line.key == key]
        w = [line for line in warehouse if line.key == key]
        aligned.append(
            ReconciledLine(
                customer_id=customer_id,
                description=(w or s)[0].description,
                stream_gpu_hours=sum((line.quantity for line in s), Decimal(0)),
                warehouse_gpu_hours=sum((line.quantity for line in w), Decimal(0)),
                stream_cents=sum(line.amount_cents for line in s),
                warehouse_cents=sum(line.amount_cents for line in w),
            )
        )
    return aligned
