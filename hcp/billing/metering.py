"""Metering: GPU-seconds per customer, GPU type, priority, site and UTC hour, from GPU telemetry readings.

The rule (the dbt mart `fct_gpu_usage_hourly` states the same in SQL, and the reconciliation checks that both
agree): a GPU reading that carries a job and its customer bills `interval_s` GPU-seconds of the poll, counted
in the UTC hour of the poll's `event_time`. A poll delivered twice counts once (deduplicated by event_id and
device_id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from hcp.records import GpuTelemetry, MeteredUsage, UsageLine
from hcp.telemetry_columns import TelemetryColumns, columns_from_record

USAGE_KEY: tuple[str, ...] = ("customer_id", "gpu_type", "priority", "site_id", "hour_start")
"""The grain of metered usage."""

USAGE_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "gpu_type": pl.String(),
    "priority": pl.Int64(),
    "site_id": pl.String(),
    "hour_start": pl.Datetime("us", "UTC"),
    "gpu_seconds": pl.Float64(),
}

READING_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "event_time": pl.Datetime("us", "UTC"),
    "site_id": pl.String(),
    "interval_s": pl.Float64(),
    "device_id": pl.String(),
    "gpu_type": pl.String(),
    "job_id": pl.String(),
    "customer_id": pl.String(),
    "priority": pl.Int64(),
}


def empty_usage() -> pl.DataFrame:
    return pl.DataFrame(schema=USAGE_SCHEMA)


def gpu_readings_frame(polls: Iterable[GpuTelemetry]) -> pl.DataFrame:
    """One row per GPU reading of the polls, with its poll's event_id, time, site and interval."""
    rows = [
        {
            "event_id": poll.event_id,
            "event_time": poll.event_time,
            "site_id": poll.site_id,
            "interval_s": poll.interval_s,
            "device_id": reading.device_id,
            "gpu_type": reading.gpu_type,
            "job_id": reading.job_id,
            "customer_id": reading.customer_id,
            "priority": reading.priority,
        }
        for poll in polls
        for reading in poll.readings
    ]
    return pl.DataFrame(rows, schema=READING_SCHEMA)


def gpu_columns_frame(polls: Iterable[TelemetryColumns]) -> pl.DataFrame:
    """`gpu_readings_frame` of telemetry.gpu polls decoded as columns: the same rows, in the same order."""
    polls = list(polls)
    if not polls:
        return pl.DataFrame(schema=READING_SCHEMA)
    sizes = [len(poll) for poll in polls]
    priority = np.concatenate([poll.numbers["priority"].astype(np.float64) for poll in polls])
    return pl.DataFrame(
        {
            "event_id": [poll.event_id for poll, n in zip(polls, sizes, strict=True) for _ in range(n)],
            "event_time": [poll.event_time for poll, n in zip(polls, sizes, strict=True) for _ in range(n)],
            "site_id": [poll.site_id for poll, n in zip(polls, sizes, strict=True) for _ in range(n)],
            "interval_s": np.repeat([poll.interval_s for poll in polls], sizes),
            "device_id": [d for poll in polls for d in poll.device_ids],
            "gpu_type": [m for poll in polls for m in poll.models],
            "job_id": [j for poll in polls for j in poll.texts["job_id"]],
            "customer_id": [c for poll in polls for c in poll.texts["customer_id"]],
            "priority": pl.Series(priority, nan_to_null=True),
        },
    ).cast(READING_SCHEMA)


def meter_gpu_seconds(readings: pl.DataFrame, per_poll: bool = False) -> pl.DataFrame:
    """Billable GPU-seconds per `USAGE_KEY` from readings shaped like `READING_SCHEMA`, sorted by the key.

    With `per_poll`, the poll's `event_id` is part of the key (first column): what the stream meter publishes.
    """
    key = ["event_id", *USAGE_KEY] if per_poll else list(USAGE_KEY)
    schema = {"event_id": pl.String(), **USAGE_SCHEMA} if per_poll else USAGE_SCHEMA
    return (
        readings.unique(subset=["event_id", "device_id"], keep="first", maintain_order=True)
        .filter(pl.col("job_id").is_not_null() & pl.col("customer_id").is_not_null())
        .with_columns(
            pl.col("event_time").dt.convert_time_zone("UTC").dt.truncate("1h").alias("hour_start"),
            pl.col("priority").fill_null(0),
        )
        .group_by(key)
        .agg(pl.col("interval_s").sum().alias("gpu_seconds"))
        .select(list(schema))
        .cast(schema)
        .sort(key)
    )


def metered_usage_records(polls: Sequence[tuple[GpuTelemetry | TelemetryColumns, int, int]]) -> list[MeteredUsage]:
    """The stream meter's output for (poll, partition, offset) triples: one record per poll with billable usage,
    `event_id` `meter:<poll event_id>`; a poll given twice yields one record. A poll is a `GpuTelemetry` or
    the same poll decoded as columns (`hcp.telemetry_columns`): the output is the same."""
    origin: dict[str, tuple[GpuTelemetry | TelemetryColumns, int, int]] = {}
    for poll, partition, offset in polls:
        origin.setdefault(poll.event_id, (poll, partition, offset))
    frame = gpu_columns_frame(
        poll if isinstance(poll, TelemetryColumns) else columns_from_record(poll) for poll, _, _ in origin.values()
    )
    usage = meter_gpu_seconds(frame, per_poll=True)
    records = []
    for (event_id,), rows in usage.group_by(["event_id"], maintain_order=True):
        poll, partition, offset = origin[str(event_id)]
        records.append(
            MeteredUsage(
                event_id=f"meter:{poll.event_id}",
                event_time=poll.event_time,
                source_event_id=poll.event_id,
                source_partition=partition,
                source_offset=offset,
                site_id=poll.site_id,
                lines=tuple(
                    UsageLine(
                        customer_id=row["customer_id"],
                        gpu_type=row["gpu_type"],
                        priority=row["priority"],
                        hour_start=row["hour_start"],
                        gpu_seconds=row["gpu_seconds"],
                    )
                    for row in rows.iter_rows(named=True)
                ),
            )
        )
    return records


def usage_from_records(records: Iterable[MeteredUsage]) -> pl.DataFrame:
    """Metered usage (`USAGE_SCHEMA`) summed from stream meter records, each event_id counted once."""
    seen: dict[str, MeteredUsage] = {}
    for record in records:
        seen.setdefault(record.event_id, record)
    rows = [{**line.model_dump(), "site_id": record.site_id} for record in seen.values() for line in record.lines]
    return combine_usage(pl.DataFrame(rows, schema=USAGE_SCHEMA)) if rows else empty_usage()


def combine_usage(*parts: pl.DataFrame) -> pl.DataFrame:
    """Sum usage frames over `USAGE_KEY` (e.g. a stream meter's partial windows)."""
    frames = [p.select(list(USAGE_SCHEMA)).cast(USAGE_SCHEMA) for p in parts if p.height]
    if not frames:
        return empty_usage()
    return (
        pl.concat(frames)
        .group_by(list(USAGE_KEY))
        .agg(pl.col("gpu_seconds").sum())
        .select(list(USAGE_SCHEMA))
        .sort(list(USAGE_KEY))
    )
