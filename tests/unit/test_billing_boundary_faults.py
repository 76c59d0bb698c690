"""Fault 2j: usage on period boundaries, on US Central DST days and with +-30 s device clock skew is billed in
exactly one period (never zero, never two), and the usage billed over all periods equals the usage metered.

Billing is all UTC (hcp.billing.periods; the dbt profile sets TimeZone UTC): a poll counts in the UTC hour of its
`event_time`, and a period is a half-open span of UTC time. A timestamp carrying a local offset (America/Chicago)
is billed by the UTC instant it names, so DST changes neither drop nor repeat an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from hcp.billing.invoices import build_invoices, in_period
from hcp.billing.lines import LineKind
from hcp.billing.metering import gpu_readings_frame, meter_gpu_seconds
from hcp.billing.periods import BillingPeriod, month_period
from hcp.billing.ratecards import load_rate_cards
from hcp.records import GpuReading, GpuTelemetry
from tests.integration.faults.conftest import report_figures

pytestmark = [pytest.mark.unit, pytest.mark.fault]

CENTRAL = ZoneInfo("America/Chicago")
INTERVAL_S = 60.0
BOOK = load_rate_cards()
PERIODS = [month_period(pid) for pid in ("2022-12", *(f"2023-{m:02d}" for m in range(1, 13)), "2024-01")]
NO_CREDITS = pl.DataFrame(
    schema={"customer_id": pl.String(), "credit_kind": pl.String(), "decided_at": pl.Datetime("us", "UTC")}
)
JUNE = datetime(2023, 6, 1, tzinfo=UTC)

# (name, event_time as the device stamped it, the period it must be billed in)
EDGE_EVENTS = [
    ("last second of December 2022", datetime(2022, 12, 31, 23, 59, 59, tzinfo=UTC), "2022-12"),
    ("00:00 UTC of 1 January 2023", datetime(2023, 1, 1, tzinfo=UTC), "2023-01"),
    ("last second of January", datetime(2023, 1, 31, 23, 59, 59, tzinfo=UTC), "2023-01"),
    ("00:00 UTC of 1 February", datetime(2023, 2, 1, tzinfo=UTC), "2023-02"),
    ("last second of February", datetime(2023, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), "2023-02"),
    ("00:00 UTC of 1 March", datetime(2023, 3, 1, tzinfo=UTC), "2023-03"),
    # DST starts 2023-03-12 02:00 CST -> 03:00 CDT (08:00 UTC): the local hour 02:xx does not exist
    ("01:59:59 CST just before spring forward", datetime(2023, 3, 12, 1, 59, 59, tzinfo=CENTRAL), "2023-03"),
    ("03:00:00 CDT just after spring forward", datetime(2023, 3, 12, 3, 0, tzinfo=CENTRAL), "2023-03"),
    # DST ends 2023-11-05 02:00 CDT -> 01:00 CST: the local hour 01:xx happens twice (fold 0, then fold 1)
    ("01:30 CDT, first pass of the repeated hour", datetime(2023, 11, 5, 1, 30, tzinfo=CENTRAL), "2023-11"),
    ("01:30 CST, second pass of the repeated hour", datetime(2023, 11, 5, 1, 30, fold=1, tzinfo=CENTRAL), "2023-11"),
    # A local-time stamp across a UTC month boundary: 19:00 CDT on 30 April is 00:00 UTC on 1 May
    ("19:00 CDT 30 April = 00:00 UTC 1 May", datetime(2023, 4, 30, 19, 0, tzinfo=CENTRAL), "2023-05"),
    ("18:59:59 CDT 30 April = last second of April", datetime(2023, 4, 30, 18, 59, 59, tzinfo=CENTRAL), "2023-04"),
    # +-30 s device clock skew around 00:00 UTC of 1 June: the poll goes to the period its stamp falls in
    ("clock 30 s slow: stamped 23:59:30 on 31 May", JUNE - timedelta(seconds=30), "2023-05"),
    ("clock 30 s fast: stamped 00:00:30 on 1 June", JUNE + timedelta(seconds=30), "2023-06"),
    ("clock 30 s fast, year end: 00:00:30 on 1 Jan 2024", datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC), "2024-01"),
    ("clock 30 s slow, year end: 23:59:30 on 31 Dec 2023", datetime(2023, 12, 31, 23, 59, 30, tzinfo=UTC), "2023-12"),
]


def poll(index: int, at: datetime) -> GpuTelemetry:
    """One poll of one busy H100 (acme-ai, standard priority): INTERVAL_S billable GPU-seconds."""
    return GpuTelemetry(
        event_id=f"edge-{index}",
        event_time=at,
        site_id="west-1",
        collector_id="west-1-g0",
        interval_s=INTERVAL_S,
        readings=(
            GpuReading(
                device_id=f"g-{index}",
                gpu_type="H100",
                utilisation_pct=90.0,
                memory_used_gib=40.0,
                memory_total_gib=80.0,
                power_w=650.0,
                temp_c=70.0,
                ecc_errors=0,
                job_id=f"j-{index}",
                customer_id="acme-ai",
                priority=5,
            ),
        ),
    )


def billed_gpu_hours(usage: pl.DataFrame, period: BillingPeriod) -> Decimal:
    """GPU-hours on the usage lines of the acme-ai invoice for `period`."""
    [invoice] = build_invoices(usage, NO_CREDITS, BOOK, period, customers=["acme-ai"]).invoices
    return sum((line.quantity for line in invoice.lines if line.line_kind == LineKind.USAGE), Decimal(0))


@pytest.mark.parametrize(("index", "name", "at", "expected"), [(i, *e) for i, e in enumerate(EDGE_EVENTS)])
def test_an_edge_event_is_invoiced_in_exactly_its_utc_period(index, name, at, expected):
    usage = meter_gpu_seconds(gpu_readings_frame([poll(index, at)]))

    billed = {p.period_id: billed_gpu_hours(usage, p) for p in PERIODS}

    assert {pid for pid, hours in billed.items() if hours} == {expected}, name
    assert billed[expected] == Decimal(str(round(INTERVAL_S / 3600, 6)))


def test_every_edge_event_is_billed_once_and_the_periods_sum_to_the_metered_total():
    polls = [poll(i, at) for i, (_, at, _) in enumerate(EDGE_EVENTS)]
    # a skewed poll retried by the collector arrives twice: it still counts once
    usage = meter_gpu_seconds(gpu_readings_frame([*polls, polls[-1], polls[-2]]))

    seconds_per_period = {p.period_id: in_period(usage, "hour_start", p)["gpu_seconds"].sum() for p in PERIODS}
    hours_per_period = {p.period_id: billed_gpu_hours(usage, p) for p in PERIODS}
    periods_per_event = [sum(p.contains(at.astimezone(UTC)) for p in PERIODS) for _, at, _ in EDGE_EVENTS]

    total_s = len(EDGE_EVENTS) * INTERVAL_S
    assert usage["gpu_seconds"].sum() == total_s
    assert sum(seconds_per_period.values()) == total_s  # never zero periods, never two
    assert periods_per_event == [1] * len(EDGE_EVENTS)
    # GPU-hours on the invoices are rounded to 6 places per line: equal to the metered total within that
    assert float(sum(hours_per_period.values())) == pytest.approx(total_s / 3600, abs=1e-6 * len(PERIODS))
    # the repeated DST hour is two distinct UTC hours, both billed
    november = usage.filter(pl.col("hour_start").dt.month() == 11)["hour_start"].to_list()
    assert november == [datetime(2023, 11, 5, 6, tzinfo=UTC), datetime(2023, 11, 5, 7, tzinfo=UTC)]
    report_figures(
        "billing_period_edges",
        events=len(EDGE_EVENTS),
        duplicates_injected=2,
        metered_gpu_seconds=total_s,
        billed_gpu_seconds=sum(seconds_per_period.values()),
        billed_gpu_hours=str(sum(hours_per_period.values())),
        lost=int(total_s - sum(seconds_per_period.values())) // int(INTERVAL_S),
        billed_twice=sum(n > 1 for n in periods_per_event),
        periods={pid: s for pid, s in seconds_per_period.items() if s},
    )
