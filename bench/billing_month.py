"""A synthetic month of landed data for the billing-scale benchmark: sites, devices, customers, their rate cards
and GPU jobs, written as the platform lands them (`hcp.landing` layout, one JSON record per Kafka message).

What one month holds (`--scale 1`: 1,000 customers, 100,000 devices = 90,000 ASICs + 10,000 GPUs at 10 sites):
- `telemetry.asic` / `telemetry.gpu`: every device polled once an hour (`interval_s` 3600, collectors of 500
  devices): 744 polls per device in a 31-day month, so 67 M ASIC and 7.4 M GPU readings in 149 k messages;
- `workloads.requests`: one request per job (jobs take whole 8-GPU nodes for 1 to 72 hours, 70 % of node-hours
  busy, customers drawn with Zipf-like weights); `decisions`: a preemption for 3 % of jobs, an SLA breach for 1 %;
- `billing.usage`: what the stream meter publishes for each GPU poll with billable usage;
- `fleet.devices`: one discovery per device; `market.prices`: hourly real-time energy per node and hashprice.
Telemetry and meter messages are built column-wise (polars) and a sample is validated with the record classes;
the small topics are built from the record classes themselves. Everything derives from the seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from hcp.billing.periods import period_from_id
from hcp.economics import ASIC_MODELS, POWER_STATE_PROFILES, PowerState
from hcp.fleet import GPUS_PER_NODE, Customer, DeviceGroup, Fleet, Site, device_ids, gpu_nodes
from hcp.landing import LandedMessage, LandingWriter
from hcp.records import AsicTelemetry, Record
from hcp.topics import TELEMETRY_ASIC, TOPICS

GPU_TYPES = ("H100", "A100", "L40S")
NODES = ("HB_WEST", "LZ_WEST", "HB_NORTH", "HB_SOUTH", "HB_HOUSTON")
COLLECTOR_SIZE = 500
POLL_S = 3600
BUSY_SHARE = 0.7
PREEMPTED_SHARE, SLA_BREACH_SHARE = 0.03, 0.01
# (asic share of a site's ASICs): the large fleet's mix
ASIC_MIX = (("S21", 0.5), ("S19 XP", 0.3), ("S19j Pro", 0.2))
STATE_SHARES = ((PowerState.NORMAL, 0.8), (PowerState.LOW, 0.1), (PowerState.HIGH, 0.05), (PowerState.SLEEP, 0.05))


@dataclass(frozen=True)
class MonthPlan:
    """How big the month is: customers, ASICs and GPUs (spread over sites of up to 10,000 devices)."""

    customers: int
    asics: int
    gpus: int
    month: str = "2023-01"
    seed: int = 7

    @classmethod
    def scaled(cls, customers: int, devices: int, scale: float, month: str, seed: int) -> MonthPlan:
        """`customers` and `devices` (90 % ASICs, 10 % GPUs) times `scale`, at least 3 customers and 1 node."""
        total = max(int(devices * scale), 10 * GPUS_PER_NODE)
        gpus = max(GPUS_PER_NODE, int(total * 0.1))
        return cls(max(3, int(customers * scale)), total - gpus, gpus, month, seed)

    @property
    def sites(self) -> int:
        return max(1, round((self.asics + self.gpus) / 10_000))

    @property
    def start(self) -> datetime:
        return period_from_id(self.month).start

    @property
    def hours(self) -> int:
        period = period_from_id(self.month)
        return int((period.end - period.start).total_seconds() // 3600)


@dataclass
class GeneratedMonth:
    """What was written, and the ground truth billing must reproduce."""

    fleet_file: Path
    rate_cards_file: Path
    landing_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    readings: dict[str, int] = field(default_factory=dict)
    usage: pl.DataFrame | None = None
    credits: pl.DataFrame | None = None


def build_fleet(plan: MonthPlan) -> Fleet:
    """`plan.sites` sites sharing the ASICs and GPUs evenly (one GPU type per site, in turn)."""
    sites = []
    for index in range(plan.sites):
        asics = _share(plan.asics, plan.sites, index)
        gpus = _share(plan.gpus, plan.sites, index)
        counts = [int(asics * share) for _, share in ASIC_MIX]
        counts[0] += asics - sum(counts)  # rounding leftovers go to the first model: every ASIC is placed
        groups = [DeviceGroup(model=model, count=c) for (model, _), c in zip(ASIC_MIX, counts, strict=True) if c]
        sites.append(
            Site(
                site_id=f"site-{index + 1:02d}",
                node=NODES[index % len(NODES)],
                power_cap_mw=max(1.0, round(asics * 3.6 / 1000 + gpus * 1.2 / 1000, 1)),
                collector_size=COLLECTOR_SIZE,
                asics=tuple(groups),
                gpus=(DeviceGroup(model=GPU_TYPES[index % len(GPU_TYPES)], count=gpus),) if gpus else (),
            )
        )
    customers = tuple(Customer(customer_id=customer_id(n)) for n in range(plan.customers))
    return Fleet(sites=tuple(sites), customers=customers)


def customer_id(number: int) -> str:
    return f"cust-{number + 1:04d}"


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def fleet_yaml(fleet: Fleet) -> str:
    return yaml.safe_dump(fleet.model_dump(mode="json"), sort_keys=False)


def rate_cards_yaml(plan: MonthPlan, rng: np.random.Generator) -> str:
    """One card per customer: per-type base prices, graduated or volume tiers, some commits, minimums, credits."""
    base = {"H100": 2.2, "A100": 1.3, "L40S": 0.9}
    uplift = {"best_effort": 0.8, "standard": 1.0, "premium": 1.4}
    cards = []
    for n in range(plan.customers):
        discount = float(rng.uniform(0.85, 1.1))
        tiered = rng.random() < 0.5
        prices = []
        for gpu_type in GPU_TYPES:
            for class_name, factor in uplift.items():
                price = round(base[gpu_type] * factor * discount, 2)
                tiers = [{"usd_per_gpu_hour": f"{price:.2f}"}]
                if tiered:
                    tiers = [
                        {"up_to_gpu_hours": 2000, "usd_per_gpu_hour": f"{price:.2f}"},
                        {"usd_per_gpu_hour": f"{price * 0.9:.2f}"},
                    ]
                prices.append({"gpu_type": gpu_type, "priority_class": class_name, "tiers": tiers})
        card = {
            "customer_id": customer_id(n),
            "customer_name": f"Customer {n + 1} Inc.",
            "billing_address": [f"{n + 1} Compute Way", "Austin, TX 78701", "USA"],
            "tier_mode": "volume" if rng.random() < 0.3 else "graduated",
            "prices": prices,
            "preemption_credit_usd": "5.00",
            "sla_credit_usd": "10.00",
            "credit_cap_pct": "10",
        }
        if rng.random() < 0.2:
            card |= {"committed_spend_usd": f"{rng.integers(1, 20) * 1000}.00", "overage_uplift_pct": "5"}
        if rng.random() < 0.1:
            card["minimum_charge_usd"] = "250.00"
        cards.append(card)
    return yaml.safe_dump({"rate_cards": cards}, sort_keys=False)


def schedule_jobs(fleet: Fleet, plan: MonthPlan, rng: np.random.Generator) -> pl.DataFrame:
    """Jobs on whole GPU nodes: per node, alternating busy and idle spans (1-72 h) over the month."""
    weights = 1.0 / np.arange(1, plan.customers + 1) ** 0.8
    weights /= weights.sum()
    rows: dict[str, list] = {k: [] for k in ("node_id", "site_id", "gpu_type", "gpus", "start_hour", "hours")}
    for site in fleet.sites:
        for node in gpu_nodes(site):
            hour = int(rng.integers(0, 12))
            while hour < plan.hours:
                span = int(rng.integers(1, 73))
                if rng.random() < BUSY_SHARE:
                    for key, value in zip(
                        rows,
                        (
                            node.node_id,
                            site.site_id,
                            node.gpu_type,
                            len(node.device_ids),
                            hour,
                            min(span, plan.hours - hour),
                        ),
                        strict=True,
                    ):
                        rows[key].append(value)
                    hour += span
                else:
                    hour += int(rng.integers(1, 1 + max(1, span // 2)))
    jobs = pl.DataFrame(rows)
    count = jobs.height
    return jobs.with_columns(
        job_id=concat("job-", pl.int_range(1, count + 1).cast(pl.String)),
        customer_id=pl.Series([customer_id(n) for n in rng.choice(plan.customers, count, p=weights)]),
        priority=pl.Series(rng.integers(0, 10, count), dtype=pl.Int64),
        fate=pl.Series(
            rng.choice(
                ["done", "preemption", "sla_breach"],
                count,
                p=[1 - PREEMPTED_SHARE - SLA_BREACH_SHARE, PREEMPTED_SHARE, SLA_BREACH_SHARE],
            )
        ),
    )


class TopicWriter:
    """Lands messages of one topic through `LandingWriter`, partition by key, offsets counted per partition."""

    def __init__(self, writer: LandingWriter, topic: str) -> None:
        self.writer, self.topic = writer, topic
        self.partitions = TOPICS[topic].partitions
        self.next_offset = [0] * self.partitions
        self.rows = 0

    def partition_of(self, key: str) -> int:
        return sum(key.encode()) % self.partitions

    def land(self, keyed: list[tuple[str, str, datetime, bytes]]) -> list[tuple[int, int]]:
        """Land (key, event_id, event_time, value) messages; returns the (partition, offset) of each."""
        by_partition: dict[int, list[LandedMessage]] = {}
        placed = []
        for key, event_id, event_time, value in keyed:
            partition = self.partition_of(key)
            offset = self.next_offset[partition]
            self.next_offset[partition] += 1
            placed.append((partition, offset))
            by_partition.setdefault(partition, []).append(
                LandedMessage(
                    self.topic, partition, offset, key, int(event_time.timestamp() * 1000), event_id, event_time, value
                )
            )
        for partition, messages in by_partition.items():
            self.writer.write(self.topic, partition, messages)
        self.rows += len(keyed)
        return placed

    def land_records(self, records: list[Record], key_field: str) -> None:
        self.land([(str(getattr(r, key_field)), r.event_id, r.event_time, r.to_json()) for r in records])


def concat(*parts: str | pl.Expr) -> pl.Expr:
    """Strings as literals, expressions (column names given as `pl.col`) as they are, joined."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def json_object(fields: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """A JSON object whose values are already-encoded JSON text (see `json_text`, `number_text`)."""
    parts: list[str | pl.Expr] = []
    for i, (name, value) in enumerate(fields):
        parts += [("{" if i == 0 else ",") + f'"{name}":', value]
    return concat(*parts, "}")


def iso_text(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def json_text(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_null()).then(pl.lit("null")).otherwise(concat('"', pl.col(column), '"'))


def number_text(column: str) -> pl.Expr:
    return pl.when(pl.col(column).is_null()).then(pl.lit("null")).otherwise(pl.col(column).cast(pl.String))


def poll_messages(readings: pl.DataFrame, reading_json: pl.Expr) -> pl.DataFrame:
    """One telemetry message per (collector, hour): `readings` has site_id, collector_id, event_time and the
    reading columns; returns key, event_id, event_time, value (the record's JSON, field order as pydantic)."""
    return (
        readings.with_columns(reading=reading_json)
        .group_by("site_id", "collector_id", "event_time", maintain_order=True)
        .agg(pl.col("reading").str.join(","), pl.len().alias("n"))
        .with_columns(event_id=concat(pl.col("collector_id"), ":", pl.col("event_time").dt.epoch("s").cast(pl.String)))
        .with_columns(
            value=json_object(
                [
                    ("schema_version", pl.lit("1")),
                    ("event_id", json_text("event_id")),
                    ("event_time", concat('"', iso_text("event_time"), '"')),
                    ("site_id", json_text("site_id")),
                    ("collector_id", json_text("collector_id")),
                    ("interval_s", pl.lit(f"{POLL_S:.1f}")),
                    ("readings", concat("[", pl.col("reading"), "]")),
                ]
            )
        )
        .select(key="site_id", event_id="event_id", event_time="event_time", value="value", n="n")
    )


def asic_reading_json() -> pl.Expr:
    texts = ("device_id", "model", "power_state")
    numbers = ("hashrate_th", "power_w", "temp_inlet_c", "temp_chip_c", "fan_rpm", "hashboards_ok", "errors")
    return json_object([(c, json_text(c)) for c in texts] + [(c, number_text(c)) for c in numbers])


def gpu_reading_json() -> pl.Expr:
    fields = [(c, json_text(c)) for c in ("device_id", "gpu_type")]
    numbers = ("utilisation_pct", "memory_used_gib", "memory_total_gib", "power_w", "temp_c", "ecc_errors")
    fields += [(c, number_text(c)) for c in numbers] + [(c, json_text(c)) for c in ("job_id", "customer_id")]
    return json_object([*fields, ("priority", number_text("priority"))])


def hours_of_day(plan: MonthPlan, day: int) -> list[datetime]:
    first = plan.start + timedelta(days=day)
    return [first + timedelta(hours=h) for h in range(24) if (day * 24 + h) < plan.hours]


def hour_column(hours: list[datetime], n: int) -> pl.Series:
    """Each hour repeated `n` times (hour-major), as UTC timestamps."""
    naive = np.array([h.replace(tzinfo=None) for h in hours], dtype="datetime64[us]")
    return pl.Series(np.repeat(naive, n)).dt.replace_time_zone("UTC")


def asic_devices(site: Site) -> pl.DataFrame:
    frames = [pl.DataFrame({"device_id": device_ids(site, group), "model": group.model}) for group in site.asics]
    frame = pl.concat(frames)
    number = (pl.int_range(pl.len()) // COLLECTOR_SIZE + 1).cast(pl.String).str.zfill(2)
    return frame.with_columns(collector_id=concat(f"{site.site_id}-asic-c", number))


def asic_day(site: Site, devices: pl.DataFrame, hours: list[datetime], rng: np.random.Generator) -> pl.DataFrame:
    """Every ASIC reading of a site for the given hours."""
    n, h = devices.height, len(hours)
    states = rng.choice([s.value for s, _ in STATE_SHARES], n * h, p=[p for _, p in STATE_SHARES])
    frame = pl.concat([devices] * h).with_columns(
        event_time=hour_column(hours, n),
        site_id=pl.lit(site.site_id),
        power_state=pl.Series(states),
    )
    nameplate = pl.DataFrame(
        [
            {
                "model": name,
                "power_state": state.value,
                "hashrate_nominal": spec.hashrate_th * POWER_STATE_PROFILES[state].hashrate_factor,
                "power_nominal": spec.power_w * POWER_STATE_PROFILES[state].power_factor,
            }
            for name, spec in ASIC_MODELS.items()
            for state, _ in STATE_SHARES
        ]
    )
    noise = rng.normal(1.0, 0.02, n * h)
    return frame.join(nameplate, on=["model", "power_state"], how="left", maintain_order="left").with_columns(
        hashrate_th=(pl.col("hashrate_nominal") * pl.Series(noise)).round(1),
        power_w=(pl.col("power_nominal") * pl.Series(noise)).round(1),
        temp_inlet_c=pl.Series(rng.normal(24, 3, n * h)).round(1),
        temp_chip_c=pl.Series(rng.normal(70, 5, n * h)).round(1),
        fan_rpm=pl.Series(rng.integers(3000, 7000, n * h)),
        hashboards_ok=pl.Series(rng.choice([3, 2], n * h, p=[0.99, 0.01])),
        errors=pl.Series(rng.poisson(0.05, n * h)),
    )


def validate_sample(records: type[Record], values: list[str]) -> None:
    """Parse a few generated messages with the topic's record class: raises if the shape drifted."""
    for value in values:
        records.model_validate_json(value)


def write_month(plan: MonthPlan, home: Path, progress=print) -> GeneratedMonth:
    """Write `home/fleet.yaml`, `home/rate_cards.yaml` and `home/landing/`; return counts and the ground truth."""
    from bench.billing_topics import land_gpu_month, land_small_topics  # it builds on this module's helpers

    rng = np.random.default_rng(plan.seed)
    fleet = build_fleet(plan)
    home.mkdir(parents=True, exist_ok=True)
    month = GeneratedMonth(home / "fleet.yaml", home / "rate_cards.yaml", home / "landing")
    month.fleet_file.write_text(fleet_yaml(fleet))
    month.rate_cards_file.write_text(rate_cards_yaml(plan, rng))
    writer = LandingWriter(month.landing_dir)
    jobs = schedule_jobs(fleet, plan, rng)
    land_small_topics(writer, fleet, plan, jobs, month)
    progress(f"  generated {jobs.height:,} jobs, {plan.asics + plan.gpus:,} devices, small topics landed")
    land_gpu_month(writer, fleet, plan, jobs, rng, month, progress)
    asic = TopicWriter(writer, TELEMETRY_ASIC)
    readings = 0
    for site in fleet.sites:
        devices = asic_devices(site)
        for day in range((plan.hours + 23) // 24):
            messages = poll_messages(asic_day(site, devices, hours_of_day(plan, day), rng), asic_reading_json())
            if site is fleet.sites[0] and day == 0:
                validate_sample(AsicTelemetry, messages["value"].head(2).to_list())
            readings += int(messages["n"].sum())
            asic.land(list(message_rows(messages)))
        progress(f"  telemetry.asic: {site.site_id} done ({readings:,} readings so far)")
    month.rows[TELEMETRY_ASIC] = asic.rows
    month.readings[TELEMETRY_ASIC] = readings
    return month


def message_rows(messages: pl.DataFrame) -> Iterator[tuple[str, str, datetime, bytes]]:
    for key, event_id, event_time, value in messages.select("key", "event_id", "event_time", "value").iter_rows():
        yield key, event_id, event_time, value.encode()
