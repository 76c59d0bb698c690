"""Billing periods: a calendar month (`2023-01`) or any span of whole UTC days (`2023-01-16..2023-01-17`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from hcp.billing.exceptions import PeriodError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class BillingPeriod:
    """Half-open span [start, end) of UTC time billed on one invoice per customer, named `period_id`."""

    start: datetime
    end: datetime
    period_id: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise PeriodError("period bounds must be timezone-aware")
        if self.end <= self.start:
            raise PeriodError(f"period {self.period_id}: end {self.end} is not after start {self.start}")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def month_period(text: str) -> BillingPeriod:
    """`YYYY-MM` -> that calendar month in UTC."""
    match = _MONTH.match(text.strip())
    if not match:
        raise PeriodError(f"period {text!r} is not YYYY-MM (e.g. 2023-01)")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise PeriodError(f"period {text!r}: month must be 01-12")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return BillingPeriod(start, end, f"{year:04d}-{month:02d}")


def day_span_period(first_day: date, end_day: date) -> BillingPeriod:
    """Whole UTC days [first_day, end_day): `end_day` is the first day not billed."""
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC)
    return BillingPeriod(start, end, f"{first_day.isoformat()}..{end_day.isoformat()}")


def parse_period(period: str | None = None, start: str | None = None, end: str | None = None) -> BillingPeriod:
    """A period from `--period YYYY-MM`, or `--from YYYY-MM-DD --to YYYY-MM-DD` (to: first day not billed)."""
    if period and (start or end):
        raise PeriodError("give either --period YYYY-MM or --from/--to, not both")
    if period:
        return month_period(period)
    if not (start and end):
        raise PeriodError("give --period YYYY-MM, or both --from YYYY-MM-DD and --to YYYY-MM-DD")
    try:
        return day_span_period(date.fromisoformat(start), date.fromisoformat(end))
    except ValueError as err:
        raise PeriodError(f"--from {start!r} / --to {end!r}: dates must be YYYY-MM-DD ({err})") from err


def period_from_id(period_id: str) -> BillingPeriod:
    """The period a stored `period_id` names (the inverse of `BillingPeriod.period_id`)."""
    if ".." in period_id:
        first, _, last = period_id.partition("..")
        return parse_period(start=first, end=last)
    return month_period(period_id)


def month_of(moment: datetime) -> BillingPeriod:
    """The calendar month containing `moment` (UTC)."""
    moment = moment.astimezone(UTC)
    return month_period(f"{moment.year:04d}-{moment.month:02d}")


def is_over(period: BillingPeriod, now: datetime) -> bool:
    """True once the period has ended by wall-clock `now`: only then may its invoices be closed (sent)."""
    return now >= period.end
