"""Metering GPU-seconds from GPU telemetry, in the stream meter's form and the warehouse's, and reconciling them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from hcp.billing.metering import gpu_readings_frame, meter_gpu_seconds, metered_usage_records, usage_from_records
from hcp.billing.periods import month_period
from hcp.billing.ratecards import load_rate_cards
from hcp.billing.reconciliation import reconcile_usage
from hcp.records import GpuReading, GpuTelemetry

START = datetime(2023, 1, 16, 10, 58, tzinfo=UTC)


def reading(device_id: str, job: str | None, customer: str | None = "acme-ai", priority: int = 5) -> GpuReading:
    return GpuReading(
        device_id=device_id,
        gpu_type="H100",
        utilisation_pct=90.0 if job else 1.0,
        memory_used_gib=40.0,
        memory_total_gib=80.0,
        power_w=650.0,
        temp_c=70.0,
        ecc_errors=0,
        job_id=job,
        customer_id=customer if job else None,
        priority=priority if job else None,
    )


def poll(minute: int, *readings: GpuReading) -> GpuTelemetry:
    at = START + timedelta(minutes=minute)
    return GpuTelemetry(
        event_id=f"west-1-g0:{int(at.timestamp())}",
        event_time=at,
        site_id="west-1",
        collector_id="west-1-g0",
        interval_s=60.0,
        readings=readings,
    )


POLLS = [
    poll(0, reading("g-1", "j-1"), reading("g-2", "j-1"), reading("g-3", None)),
    poll(1, reading("g-1", "j-1"), reading("g-2", "j-2", "blue-labs", 1)),
    poll(2, reading("g-1", "j-1")),  # 11:00: the next hour
]


def test_busy_gpus_bill_their_interval_in_the_hour_of_the_poll_and_idle_ones_nothing():
    usage = meter_gpu_seconds(gpu_readings_frame(POLLS))

    assert usage.select("customer_id", "priority", "hour_start", "gpu_seconds").rows() == [
        ("acme-ai", 5, datetime(2023, 1, 16, 10, tzinfo=UTC), 180.0),
        ("acme-ai", 5, datetime(2023, 1, 16, 11, tzinfo=UTC), 60.0),
        ("blue-labs", 1, datetime(2023, 1, 16, 10, tzinfo=UTC), 60.0),
    ]


def test_a_poll_delivered_twice_is_metered_once():
    once = meter_gpu_seconds(gpu_readings_frame(POLLS))
    twice = meter_gpu_seconds(gpu_readings_frame([*POLLS, POLLS[0]]))

    assert twice.equals(once)


def test_stream_meter_publishes_one_record_per_poll_with_usage_keyed_by_the_poll():
    records = metered_usage_records([(p, 2, offset) for offset, p in enumerate([*POLLS, POLLS[1]])])

    assert [r.event_id for r in records] == [f"meter:{p.event_id}" for p in POLLS]
    assert records[1].source_offset == 1
    assert {(line.customer_id, line.gpu_seconds) for line in records[1].lines} == {
        ("acme-ai", 60.0),
        ("blue-labs", 60.0),
    }


def test_stream_records_redelivered_later_still_count_once():
    records = metered_usage_records([(p, 0, i) for i, p in enumerate(POLLS)])

    assert usage_from_records([*records, records[0]]).equals(meter_gpu_seconds(gpu_readings_frame(POLLS)))


def test_reconciliation_of_equal_meters_reports_zero_difference():
    usage = meter_gpu_seconds(gpu_readings_frame(POLLS))

    result = reconcile_usage(usage, usage, load_rate_cards(), month_period("2023-01"))

    assert result.ok
    assert result.difference_cents == 0
    assert len(result.lines) == 2  # acme-ai H100 standard, blue-labs H100 best effort


def test_reconciliation_reports_each_differing_line_and_hour_in_cents():
    stream = meter_gpu_seconds(gpu_readings_frame(POLLS))
    warehouse = meter_gpu_seconds(gpu_readings_frame(POLLS[:2]))  # the 11:00 poll never reached the warehouse

    result = reconcile_usage(stream, warehouse, load_rate_cards(), month_period("2023-01"))

    assert not result.ok
    [line] = result.differing_lines
    assert line.customer_id == "acme-ai"
    assert line.difference_cents == 4  # 60 s at 2.40 USD/h
    assert result.hourly_differences.select("hour_start", "difference_gpu_seconds").rows() == [
        (datetime(2023, 1, 16, 11, tzinfo=UTC), 60.0)
    ]
    assert isinstance(result.hourly_differences, pl.DataFrame)
