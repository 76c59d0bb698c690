"""The Apache Beam backfill: hourly site energy and cost, and hourly device telemetry, from the landed history.

For backfills and audits at scale: it reads the landing files (never the warehouse), so its result can be
checked against the dbt mart `fct_site_energy_hourly` for the same period, and it runs on any Beam runner.
Here it runs on the DirectRunner; `docs/backfill.md` gives the options for Flink, Spark and Dataflow.

    landing files ─┬─ telemetry.asic/gpu ─ poll_energy ─ first copy per event ─┐
                   └─ market.prices ─ Prices (one lookup, a side input) ───────┴─ per site x hour ─ Parquet
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from backfill.rollups import (
    DeviceHour,
    GpuUsage,
    PollEnergy,
    Prices,
    SiteHour,
    device_hours,
    first_copy,
    gpu_usage,
    poll_energy,
)
from hcp.fleet import Fleet
from hcp.landing import iter_landing_files
from hcp.records import PriceTick
from hcp.telemetry_columns import TelemetryColumns, decode_telemetry
from hcp.topics import MARKET_PRICES, TELEMETRY_ASIC, TELEMETRY_GPU

SITE_ENERGY_HOURLY_SCHEMA = pa.schema(
    [
        ("site_hour_id", pa.string()),
        ("site_id", pa.string()),
        ("hour_start", pa.timestamp("us", tz="UTC")),
        ("node", pa.string()),
        ("asic_mwh", pa.float64()),
        ("gpu_mwh", pa.float64()),
        ("total_mwh", pa.float64()),
        ("unpriced_mwh", pa.float64()),
        ("avg_rt_price_usd_mwh", pa.float64()),
        ("power_cost_usd", pa.float64()),
        ("asic_power_cost_usd", pa.float64()),
        ("mining_revenue_usd", pa.float64()),
        ("mining_margin_usd", pa.float64()),
        ("mining_revenue_is_provisional", pa.bool_()),
        ("asic_polls", pa.int64()),
        ("gpu_polls", pa.int64()),
    ]
)


DEVICE_TELEMETRY_HOURLY_SCHEMA = pa.schema(
    [
        ("device_hour_id", pa.string()),
        ("device_id", pa.string()),
        ("hour_start", pa.timestamp("us", tz="UTC")),
        ("device_kind", pa.string()),
        ("site_id", pa.string()),
        ("model", pa.string()),
        ("readings", pa.int64()),
        ("observed_s", pa.float64()),
        ("avg_power_w", pa.float64()),
        ("max_power_w", pa.float64()),
        ("energy_mwh", pa.float64()),
        ("avg_hashrate_th", pa.float64()),
        ("avg_temp_c", pa.float64()),
        ("max_temp_c", pa.float64()),
        ("avg_utilisation_pct", pa.float64()),
        ("working_s", pa.float64()),
        ("working_fraction", pa.float64()),
        ("errors", pa.int64()),
    ]
)


GPU_USAGE_HOURLY_SCHEMA = pa.schema(
    [
        ("usage_id", pa.string()),
        ("customer_id", pa.string()),
        ("gpu_type", pa.string()),
        ("priority", pa.int64()),
        ("site_id", pa.string()),
        ("hour_start", pa.timestamp("us", tz="UTC")),
        ("gpu_seconds", pa.float64()),
        ("gpu_hours", pa.float64()),
        ("readings", pa.int64()),
        ("jobs", pa.int64()),
        ("avg_utilisation_pct", pa.float64()),
        ("energy_mwh", pa.float64()),
    ]
)


def read_landed(path: str) -> Iterator[tuple[str, int, int, bytes]]:
    """(topic, partition, offset, value) of every message in one landing file."""
    table = pq.read_table(path, columns=["topic", "partition", "offset", "value"])
    yield from zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True)


class CombineSiteHour(beam.CombineFn):
    """Sums the polls of one site and hour (associative: Beam may combine in any order and on any worker)."""

    def __init__(self, nodes: dict[str, str]) -> None:
        self.nodes = nodes

    def create_accumulator(self) -> SiteHour:
        return SiteHour()

    def add_input(self, accumulator: SiteHour, element: tuple[PollEnergy, Prices]) -> SiteHour:
        poll, prices = element
        return accumulator.add_poll(poll, self.nodes.get(poll.site_id), prices)

    def merge_accumulators(self, accumulators: Sequence[SiteHour]) -> SiteHour:
        merged = SiteHour()
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator: SiteHour) -> SiteHour:
        return accumulator


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_key(at: datetime) -> int:
    """The hour as epoch seconds: a key Beam can encode deterministically (a datetime is not)."""
    return int(hour_of(at).timestamp())


def build_site_energy_hourly(
    pipeline: beam.Pipeline, landing_root: Path, fleet: Fleet, start: datetime, end: datetime
) -> beam.PCollection:
    """The PCollection of mart rows (dicts) for the hours in [start, end)."""
    telemetry = [str(f.path) for t in (TELEMETRY_ASIC, TELEMETRY_GPU) for f in iter_landing_files(landing_root, t)]
    price_files = [str(f.path) for f in iter_landing_files(landing_root, MARKET_PRICES)]
    nodes = {site.site_id: site.node for site in fleet.sites}

    prices = (
        pipeline
        | "price files" >> beam.Create(price_files)
        | "read prices" >> beam.FlatMap(read_landed)
        | "price ticks" >> beam.Map(lambda message: PriceTick.model_validate_json(message[3]))
        | "all ticks" >> beam.combiners.ToList()
        | "price lookup" >> beam.Map(Prices.from_ticks)
    )
    return (
        pipeline
        | "telemetry files" >> beam.Create(telemetry)
        | "read telemetry" >> beam.FlatMap(read_landed)
        | "poll energy" >> beam.MapTuple(poll_energy)
        | "in window" >> beam.Filter(lambda poll: start <= hour_of(poll.event_time) < end)
        | "by event" >> beam.Map(lambda poll: (poll.event_id, poll))
        | "copies" >> beam.GroupByKey()
        | "first copy" >> beam.MapTuple(lambda _, copies: first_copy(list(copies)))
        | "with prices" >> beam.Map(lambda poll, lookup: (poll, lookup), beam.pvalue.AsSingleton(prices))
        | "by site hour" >> beam.Map(lambda item: ((item[0].site_id, hour_key(item[0].event_time)), item))
        | "sum site hour" >> beam.CombinePerKey(CombineSiteHour(nodes))
        | "mart row" >> beam.MapTuple(lambda key, hour: hour.row(key[0], datetime.fromtimestamp(key[1], UTC)))
    )


def first_copy_of_poll(copies: list[tuple[int, int, TelemetryColumns]]) -> TelemetryColumns:
    return min(copies, key=lambda copy: copy[:2])[2]


def deduped_polls(pipeline: beam.Pipeline, landing_root: Path, start: datetime, end: datetime) -> beam.PCollection:
    """Every telemetry poll of the hours in [start, end) as columns, each event once (its first landed copy)."""
    telemetry = [str(f.path) for t in (TELEMETRY_ASIC, TELEMETRY_GPU) for f in iter_landing_files(landing_root, t)]
    return (
        pipeline
        | "poll files" >> beam.Create(telemetry)
        | "read polls" >> beam.FlatMap(read_landed)
        | "poll columns" >> beam.MapTuple(lambda topic, p, o, value: (p, o, decode_telemetry(topic, value)))
        | "polls in window" >> beam.Filter(lambda copy: start <= hour_of(copy[2].event_time) < end)
        | "poll by event" >> beam.Map(lambda copy: (copy[2].event_id, copy))
        | "poll copies" >> beam.GroupByKey()
        | "first copy of poll" >> beam.MapTuple(lambda _, copies: first_copy_of_poll(list(copies)))
    )


def build_device_telemetry_hourly(polls: beam.PCollection) -> beam.PCollection:
    """`fct_device_telemetry_hourly` rows (dicts) from the deduplicated polls."""
    return (
        polls
        | "per device" >> beam.FlatMap(
            lambda poll: [((device, hour_key(poll.event_time)), hour) for device, hour in device_hours(poll)]
        )
        | "sum device hour" >> beam.CombinePerKey(lambda hours: reduce(DeviceHour.merge, hours, DeviceHour()))
        | "device row" >> beam.MapTuple(lambda key, hour: hour.row(key[0], datetime.fromtimestamp(key[1], UTC)))
    )


def build_gpu_usage_hourly(polls: beam.PCollection) -> beam.PCollection:
    """`fct_gpu_usage_hourly` rows (dicts), the billing input, from the deduplicated polls."""
    return (
        polls
        | "per usage" >> beam.FlatMap(
            lambda poll: [((*key, hour_key(poll.event_time)), usage) for key, usage in gpu_usage(poll)]
        )
        | "sum usage hour" >> beam.CombinePerKey(lambda usages: reduce(GpuUsage.merge, usages, GpuUsage()))
        | "usage row" >> beam.MapTuple(lambda key, usage: usage.row(*key[:4], datetime.fromtimestamp(key[4], UTC)))
    )


def run_backfill(
    landing_root: Path,
    fleet: Fleet,
    start: datetime,
    end: datetime,
    out_dir: Path,
    beam_args: Sequence[str] = (),
) -> Path:
    """Run the pipeline (DirectRunner unless `beam_args` say otherwise) and return the output folder.

    Writes `out_dir/site_energy_hourly-*.parquet`, `device_telemetry_hourly-*.parquet` and
    `gpu_usage_hourly-*.parquet`: the columns of the three marts of those names.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    options = PipelineOptions(list(beam_args) or ["--runner=DirectRunner"])
    with beam.Pipeline(options=options) as pipeline:
        rows = build_site_energy_hourly(pipeline, landing_root, fleet, start, end)
        _ = rows | "write" >> beam.io.WriteToParquet(
            str(out_dir / "site_energy_hourly"), SITE_ENERGY_HOURLY_SCHEMA, file_name_suffix=".parquet"
        )
        polls = deduped_polls(pipeline, landing_root, start, end)
        _ = build_device_telemetry_hourly(polls) | "write devices" >> beam.io.WriteToParquet(
            str(out_dir / "device_telemetry_hourly"), DEVICE_TELEMETRY_HOURLY_SCHEMA, file_name_suffix=".parquet"
        )
        _ = build_gpu_usage_hourly(polls) | "write usage" >> beam.io.WriteToParquet(
            str(out_dir / "gpu_usage_hourly"), GPU_USAGE_HOURLY_SCHEMA, file_name_suffix=".parquet"
        )
    return out_dir
