"""What both price feeds share: the market's calendar, tick construction, and publication order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hcp.records import PRICE_UNITS, PriceKind, PriceTick

# ERCOT settles in Central prevailing time: operating days and day-ahead publication follow that clock.
MARKET_TZ_NAME = "America/Chicago"
MARKET_TZ = ZoneInfo(MARKET_TZ_NAME)
DA_PUBLICATION_HOUR = 10
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

_KIND_ORDER = {kind: index for index, kind in enumerate(PriceKind)}


def make_tick(
    kind: PriceKind,
    interval_start: datetime,
    interval_end: datetime,
    value: float,
    published: datetime,
    *,
    node: str | None = None,
    gpu_type: str | None = None,
) -> PriceTick:
    """A price tick whose event id names what it prices (kind, node or GPU type, interval), not when it was sent."""
    subject = node or gpu_type or "-"
    return PriceTick(
        event_id=f"{kind.value}:{subject}:{int(interval_start.timestamp())}",
        event_time=published,
        kind=kind,
        node=node,
        gpu_type=gpu_type,
        interval_start=interval_start,
        interval_end=interval_end,
        value=round(float(value), 4),
        unit=PRICE_UNITS[kind],
    )


def sort_ticks(ticks: Iterable[PriceTick]) -> list[PriceTick]:
    """Publication order: by event time, then kind, subject and interval, so equal inputs give equal output."""
    return sorted(ticks, key=lambda t: (t.event_time, _KIND_ORDER[t.kind], t.key, t.interval_start))


def floor_time(moment: datetime, seconds: float) -> datetime:
    """`moment` rounded down to a multiple of `seconds` since the epoch (UTC)."""
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def operating_day(moment: datetime) -> date:
    """The market's operating day that contains `moment`."""
    return moment.astimezone(MARKET_TZ).date()


def operating_day_hours(day: date) -> list[datetime]:
    """UTC starts of the hours of an operating day (23, 24 or 25 of them across daylight-saving changes)."""
    first = datetime.combine(day, time(0), tzinfo=MARKET_TZ).astimezone(UTC)
    end = datetime.combine(day + DAY, time(0), tzinfo=MARKET_TZ).astimezone(UTC)
    return [first + k * HOUR for k in range(round((end - first) / HOUR))]


def da_publication(day: date) -> datetime:
    """When the day-ahead prices of operating day `day` are published: 10:00 market time the day before."""
    return datetime.combine(day - DAY, time(DA_PUBLICATION_HOUR), tzinfo=MARKET_TZ).astimezone(UTC)


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
