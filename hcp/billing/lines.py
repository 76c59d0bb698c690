"""Invoice lines and money: integer cents, Decimal quantities, one rounding rule (half up, per line)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

SECONDS_PER_HOUR = Decimal(3600)
QUANTITY_PLACES = Decimal("0.000001")


class LineKind(StrEnum):
    USAGE = "usage"
    """GPU-hours of one GPU type and priority class in one price tier."""
    OVERAGE = "overage"
    """Uplift on usage charges above the committed spend."""
    COMMITMENT_SHORTFALL = "commitment_shortfall"
    """Committed spend not reached by usage charges."""
    PREEMPTION_CREDIT = "preemption_credit"
    SLA_CREDIT = "sla_credit"
    MINIMUM_CHARGE = "minimum_charge"
    """Top-up to the minimum charge."""


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice. `adjusts_period_id` is set on adjustment lines: a late change to the line of the
    same kind, GPU type, class and tier on the named (closed) period's invoice."""

    line_kind: LineKind
    description: str
    amount_cents: int
    quantity: Decimal = Decimal(0)
    unit: str = ""
    unit_price_usd: Decimal = Decimal(0)
    gpu_type: str | None = None
    priority_class: str | None = None
    tier: int | None = None
    adjusts_period_id: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None, int | None]:
        """What an adjustment matches on: kind, GPU type, class and tier."""
        return (str(self.line_kind), self.gpu_type, self.priority_class, self.tier)

    @property
    def is_adjustment(self) -> bool:
        return self.adjusts_period_id is not None


def to_cents(usd: Decimal) -> int:
    """USD to whole cents, half up."""
    return int((usd * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def usd(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def gpu_hours(gpu_seconds: Decimal) -> Decimal:
    """GPU-seconds as GPU-hours, to six places (for display; amounts are computed from the seconds)."""
    return (gpu_seconds / SECONDS_PER_HOUR).quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def seconds_decimal(value: float) -> Decimal:
    """A float GPU-seconds sum as an exact Decimal, to the millisecond."""
    return Decimal(repr(float(value))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def format_usd(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"
