"""The GPU side of the synthetic billing month (telemetry, the stream meter's output, the ground-truth usage) and
its small topics (fleet.devices, market.prices, workloads.requests, decisions). See `bench.billing_month`."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from bench.billing_month import (
    POLL_S,
    GeneratedMonth,
    MonthPlan,
    TopicWriter,
    concat,
    gpu_reading_json,
    hour_column,
    hours_of_day,
    iso_text,
    json_object,
    json_text,
    message_rows,
    number_text,
    poll_messages,
    validate_sample,
)
from hcp.economics import GPU_MODELS
from hcp.fleet import Fleet, Site, device_ids, gpu_nodes
from hcp.landing import LandingWriter
from hcp.records import (
    Decision,
    DecisionKind,
    DeviceChange,
    DeviceKind,
    DeviceStatus,
    GpuTelemetry,
    MeteredUsage,
    PriceKind,
    PriceTick,
    WorkloadRequest,
)
from hcp.records.market import PRICE_UNITS
from hcp.topics import BILLING_USAGE, DECISIONS, FLEET_DEVICES, MARKET_PRICES, TELEMETRY_GPU, WORKLOAD_REQUESTS

GPU_COLLECTOR_SIZE = 500
USAGE_KEY = ["customer_id", "gpu_type", "priority", "site_id", "hour_start"]


def gpu_devices(site: Site, jobs: pl.DataFrame, hours: int) -> tuple[pl.DataFrame, np.ndarray]:
    """The site's GPUs (device, type, node row, collector) and a node x hour matrix of job rows (-1: idle)."""
    nodes = gpu_nodes(site)
    node_row = {node.node_id: i for i, node in enumerate(nodes)}
    devices = pl.DataFrame(
        {
            "device_id": [d for node in nodes for d in node.device_ids],
            "gpu_type": [node.gpu_type for node in nodes for _ in node.device_ids],
            "node_row": [i for i, node in enumerate(nodes) for _ in node.device_ids],
        }
    ).with_columns(
        collector_id=concat(
            f"{site.site_id}-gpu-c", (pl.int_range(pl.len()) // GPU_COLLECTOR_SIZE + 1).cast(pl.String).str.zfill(2)
        )
    )
    busy = np.full((len(nodes), hours), -1, dtype=np.int64)
    mine = jobs.with_row_index("job_row").filter(pl.col("site_id") == site.site_id)
    for job_row, node_id, start, length in mine.select("job_row", "node_id", "start_hour", "hours").iter_rows():
        busy[node_row[node_id], start : start + length] = job_row
    return devices, busy


def gpu_day(
    site: Site,
    devices: pl.DataFrame,
    busy: np.ndarray,
    jobs: pl.DataFrame,
    plan: MonthPlan,
    day: int,
    rng: np.random.Generator,
) -> pl.DataFrame:
    hours = hours_of_day(plan, day)
    n, h = devices.height, len(hours)
    first = day * 24
    job_rows = busy[devices["node_row"].to_numpy()][:, first : first + h].T.reshape(-1)  # hour-major, like repeat
    job_info = jobs.select("job_id", "customer_id", "priority")
    picked = job_info[np.maximum(job_rows, 0)].with_columns(
        [pl.when(pl.Series(job_rows >= 0)).then(pl.col(c)).otherwise(None).alias(c) for c in job_info.columns]
    )
    is_busy = job_rows >= 0
    memory = np.array([GPU_MODELS[t].memory_gib for t in devices["gpu_type"]] * h)
    power = np.array([GPU_MODELS[t].power_w for t in devices["gpu_type"]] * h)
    utilisation = np.where(is_busy, rng.uniform(60, 100, n * h), rng.uniform(0, 3, n * h))
    base = pl.concat([pl.concat([devices] * h), picked], how="horizontal")
    return base.with_columns(
        event_time=hour_column(hours, n),
        site_id=pl.lit(site.site_id),
        utilisation_pct=pl.Series(utilisation).round(1),
        memory_used_gib=pl.Series(np.where(is_busy, memory * 0.7, 0.5)).round(1),
        memory_total_gib=pl.Series(memory),
        power_w=pl.Series(power * (0.1 + 0.9 * utilisation / 100)).round(1),
        temp_c=pl.Series(35 + 0.4 * utilisation).round(1),
        ecc_errors=pl.lit(0),
    )


def meter_messages(readings: pl.DataFrame, polls: pl.DataFrame) -> pl.DataFrame:
    """The stream meter's `billing.usage` message of each poll with billable usage (as `metered_usage_records`)."""
    lines = (
        readings.filter(pl.col("job_id").is_not_null())
        .group_by("collector_id", "event_time", "customer_id", "gpu_type", "priority", maintain_order=True)
        .agg(gpu_seconds=(pl.len() * POLL_S).cast(pl.Float64))
        .sort("collector_id", "event_time", "customer_id", "gpu_type", "priority")
        .with_columns(
            line=json_object(
                [
                    ("customer_id", json_text("customer_id")),
                    ("gpu_type", json_text("gpu_type")),
                    ("priority", number_text("priority")),
                    ("hour_start", concat('"', iso_text("event_time"), '"')),
                    ("gpu_seconds", number_text("gpu_seconds")),
                ]
            )
        )
        .group_by("collector_id", "event_time", maintain_order=True)
        .agg(pl.col("line").str.join(","))
    )
    return (
        polls.join(lines, on=["collector_id", "event_time"], how="inner", maintain_order="left")
        .with_columns(
            value=json_object(
                [
                    ("schema_version", pl.lit("1")),
                    ("event_id", concat('"meter:', pl.col("event_id"), '"')),
                    ("event_time", concat('"', iso_text("event_time"), '"')),
                    ("source_event_id", json_text("event_id")),
                    ("source_partition", number_text("partition")),
                    ("source_offset", number_text("offset")),
                    ("site_id", json_text("key")),
                    ("lines", concat("[", pl.col("line"), "]")),
                ]
            ),
            event_id=concat("meter:", pl.col("event_id")),
        )
        .select("key", "event_id", "event_time", "value")
    )


def land_gpu_month(
    writer: LandingWriter,
    fleet: Fleet,
    plan: MonthPlan,
    jobs: pl.DataFrame,
    rng: np.random.Generator,
    month: GeneratedMonth,
    progress,
) -> None:
    """GPU telemetry, the meter's messages and the ground-truth hourly usage (`month.usage`)."""
    telemetry, meter = TopicWriter(writer, TELEMETRY_GPU), TopicWriter(writer, BILLING_USAGE)
    usage, readings_total = [], 0
    for site in fleet.sites:
        if not site.gpus:
            continue
        devices, busy = gpu_devices(site, jobs, plan.hours)
        for day in range((plan.hours + 23) // 24):
            readings = gpu_day(site, devices, busy, jobs, plan, day, rng)
            polls = poll_messages(readings, gpu_reading_json()).with_columns(
                collector_id=pl.col("event_id").str.split(":").list.first()
            )
            if site is fleet.sites[0] and day == 0:
                validate_sample(GpuTelemetry, polls["value"].head(2).to_list())
            placed = telemetry.land(list(message_rows(polls)))
            polls = polls.with_columns(
                partition=pl.Series([p for p, _ in placed]), offset=pl.Series([o for _, o in placed])
            )
            metered = meter_messages(readings, polls)
            if site is fleet.sites[0] and day == 0 and metered.height:
                validate_sample(MeteredUsage, metered["value"].head(2).to_list())
            meter.land(list(message_rows(metered)))
            readings_total += readings.height
            usage.append(
                readings.filter(pl.col("job_id").is_not_null())
                .group_by("customer_id", "gpu_type", "priority", "site_id", pl.col("event_time").alias("hour_start"))
                .agg(gpu_seconds=(pl.len() * POLL_S).cast(pl.Float64))
            )
        progress(f"  telemetry.gpu and billing.usage: {site.site_id} done ({readings_total:,} readings so far)")
    month.rows[TELEMETRY_GPU], month.rows[BILLING_USAGE] = telemetry.rows, meter.rows
    month.readings[TELEMETRY_GPU] = readings_total
    month.usage = pl.concat(usage).select(*USAGE_KEY, "gpu_seconds").sort(USAGE_KEY)


def land_small_topics(
    writer: LandingWriter, fleet: Fleet, plan: MonthPlan, jobs: pl.DataFrame, month: GeneratedMonth
) -> None:
    """fleet.devices, market.prices, workloads.requests and decisions, built from the record classes."""
    start = plan.start
    devices = TopicWriter(writer, FLEET_DEVICES)
    for site in fleet.sites:
        changes = [
            DeviceChange(
                event_id=f"discovered:{device}",
                event_time=start,
                device_id=device,
                site_id=site.site_id,
                device_kind=kind,
                model=group.model,
                status=DeviceStatus.ONLINE,
                first_seen=True,
                last_seen=start,
                reason="first reading",
            )
            for kind, groups in ((DeviceKind.ASIC, site.asics), (DeviceKind.GPU, site.gpus))
            for group in groups
            for device in device_ids(site, group)
        ]
        devices.land_records(changes, "site_id")
    prices = TopicWriter(writer, MARKET_PRICES)
    ticks = []
    for hour in range(plan.hours):
        begin, end = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        for node in sorted({site.node for site in fleet.sites}):
            value = round(35 + 20 * np.sin(hour / 24 * 2 * np.pi) + (sum(node.encode()) % 7), 2)
            ticks.append(
                PriceTick(
                    event_id=f"energy_rt:{node}:{begin:%Y%m%dT%H}",
                    event_time=end,
                    kind=PriceKind.ENERGY_RT,
                    node=node,
                    interval_start=begin,
                    interval_end=end,
                    value=value,
                    unit=PRICE_UNITS[PriceKind.ENERGY_RT],
                )
            )
        ticks.append(
            PriceTick(
                event_id=f"hashprice:{begin:%Y%m%dT%H}",
                event_time=end,
                kind=PriceKind.HASHPRICE,
                interval_start=begin,
                interval_end=end,
                value=60.0,
                unit=PRICE_UNITS[PriceKind.HASHPRICE],
            )
        )
    prices.land([(t.key, t.event_id, t.event_time, t.to_json()) for t in ticks])
    requests, decisions, credits = [], [], []
    for job in jobs.iter_rows(named=True):
        submitted = start + timedelta(hours=job["start_hour"])
        requests.append(
            WorkloadRequest(
                event_id=f"request:{job['job_id']}",
                event_time=submitted,
                job_id=job["job_id"],
                customer_id=job["customer_id"],
                gpu_type=job["gpu_type"],
                gpu_count=job["gpus"],
                priority=job["priority"],
                preemptible=job["priority"] < 7,
                expected_duration_s=float(job["hours"] * 3600),
            )
        )
        if job["fate"] != "done":
            decided = submitted + timedelta(hours=job["hours"])
            decisions.append(
                Decision(
                    event_id=f"decision:{job['fate']}:{job['job_id']}",
                    event_time=decided,
                    decision_id=f"d-{job['fate']}-{job['job_id']}",
                    site_id=job["site_id"],
                    kind=DecisionKind(job["fate"]),
                    subject=job["job_id"],
                    interval_start=decided,
                    action="preempted" if job["fate"] == "preemption" else "sla_missed",
                    reason="room for higher-priority work" if job["fate"] == "preemption" else "queued past its SLA",
                )
            )
            credits.append({"customer_id": job["customer_id"], "credit_kind": job["fate"], "decided_at": decided})
    TopicWriter(writer, WORKLOAD_REQUESTS).land_records(requests, "customer_id")
    TopicWriter(writer, DECISIONS).land_records(decisions, "site_id")
    month.rows |= {
        FLEET_DEVICES: devices.rows,
        MARKET_PRICES: prices.rows,
        WORKLOAD_REQUESTS: len(requests),
        DECISIONS: len(decisions),
    }
    month.credits = pl.DataFrame(
        credits, schema={"customer_id": pl.String(), "credit_kind": pl.String(), "decided_at": pl.Datetime("us", "UTC")}
    )
