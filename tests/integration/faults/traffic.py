"""Valid and poison telemetry for the fault tests, built from the record classes, and landing measurements."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from confluent_kafka import Producer

from hcp.economics import ASIC_MODELS, PowerState
from hcp.exceptions import ProducerError
from hcp.fleet import load_fleet
from hcp.landing import iter_landing_files
from hcp.ledger import LedgerWriter
from hcp.records import AsicReading, AsicTelemetry
from hcp.settings import BrokerSettings
from hcp.topics import TELEMETRY_ASIC

T0 = datetime(2023, 1, 16, tzinfo=UTC)
SITES = tuple(site.site_id for site in load_fleet().sites)  # the demo fleet: every poll is plausible


def asic_poll(run: str, index: int, site: str, at: datetime, readings: int = 20) -> AsicTelemetry:
    spec = ASIC_MODELS["S21"]
    return AsicTelemetry(
        event_id=f"{run}:{site}:{index}",
        event_time=at,
        site_id=site,
        collector_id=f"{site}-c0",
        interval_s=10.0,
        readings=tuple(
            AsicReading(
                device_id=f"{site}-s21-{i:04d}", model="S21", power_state=PowerState.NORMAL,
                hashrate_th=spec.hashrate_at(PowerState.NORMAL), power_w=spec.power_at(PowerState.NORMAL),
                temp_inlet_c=22.0, temp_chip_c=68.0, fan_rpm=5200, hashboards_ok=3, errors=0,
            )
            for i in range(readings)
        ),
    )


def valid_polls(run: str, count: int, start: datetime = T0) -> list[tuple[str, bytes]]:
    """`count` valid polls round-robin over the sites, 10 s apart per site: (key, value)."""
    polls = []
    for index in range(count):
        site = SITES[index % len(SITES)]
        at = start + timedelta(seconds=10 * (index // len(SITES)))
        polls.append((site, asic_poll(run, index, site, at).to_json()))
    return polls


def poison_polls(run: str, at: datetime) -> dict[str, tuple[str, bytes]]:
    """One poison message of each kind the issue names, by kind: (key, value)."""
    def variant(index: int, change) -> bytes:
        body = json.loads(asic_poll(f"{run}-poison", index, "west-1", at).to_json())
        change(body)
        return json.dumps(body).encode()

    def reading(field: str, value: object):
        return lambda body: body["readings"][0].__setitem__(field, value)

    big = asic_poll(f"{run}-poison", 900, "west-1", at, readings=6000).to_json()  # about 1.13 MB, valid otherwise
    return {
        "invalid_json": ("west-1", b'{"event_id": "broken", "readings": [{'),
        "unknown_schema_version": ("west-1", variant(901, lambda body: body.__setitem__("schema_version", 2))),
        "nan_power": ("west-1", variant(902, reading("power_w", float("nan")))),
        "negative_power": ("west-1", variant(903, reading("power_w", -3500.0))),
        "timestamp_a_day_off": ("west-1", variant(904, lambda body: body.__setitem__(
            "event_time", (at + timedelta(days=1)).isoformat()))),
        "one_megabyte_payload": ("west-1", big),
        "unknown_device_site": ("mars-9", variant(905, lambda body: body.__setitem__("site_id", "mars-9"))),
    }


@dataclass(frozen=True)
class SentBatch:
    valid: int
    poison: dict[str, int]


def send_mixed(
    broker: BrokerSettings, ledger_dir: Path, run: str, valid: list[tuple[str, bytes]],
    poison: list[tuple[str, tuple[str, bytes]]], seed: int,
) -> SentBatch:
    """Send the valid polls (recorded in the ledger `run`) with the poison spread among them at seeded places.

    One idempotent producer for both keeps the order within a partition. Its `message.max.bytes` is raised so
    that the 1 MB poison reaches the broker (librdkafka refuses to send it by default).
    """
    rng = random.Random(seed)
    # Poison after the first polls of every site, so each site has a reference time for the clock check.
    places = sorted(rng.sample(range(len(SITES), len(valid)), len(poison)))
    by_place = dict(zip(places, poison, strict=True))
    counts: dict[str, int] = {}
    errors: list[object] = []
    producer = Producer(broker.librdkafka_config() | {
        "message.max.bytes": 4_000_000, "enable.idempotence": True, "linger.ms": 5,
    })

    def send(key: str, value: bytes) -> None:
        producer.produce(TELEMETRY_ASIC, key=key, value=value,
                         on_delivery=lambda err, _msg: errors.append(err) if err else None)
        producer.poll(0)

    with LedgerWriter(ledger_dir, run) as ledger:
        for index, (key, value) in enumerate(valid):
            if index in by_place:
                kind, (poison_key, poison_value) = by_place[index]
                send(poison_key, poison_value)
                counts[kind] = counts.get(kind, 0) + 1
            send(key, value)
            ledger.record(json.loads(value)["event_id"], TELEMETRY_ASIC, key, value)
    if producer.flush(60) or errors:
        raise ProducerError(f"fault traffic not delivered: {errors[:3]}")
    return SentBatch(len(valid), counts)


def landing_rate(landing_root: Path, event_prefix: str) -> float:
    """Valid events of one run landed per second while the worker was landing them.

    From the first landing file of the run to its last, counting the events of every file after the first: the
    worker's start (group join, table recovery) is not in it.
    """
    files = [f.path for f in iter_landing_files(landing_root, TELEMETRY_ASIC)]
    rows = pl.read_parquet(files, columns=["event_id", "landed_at"]).filter(
        pl.col("event_id").str.starts_with(event_prefix)
    )
    first, last = rows["landed_at"].min(), rows["landed_at"].max()
    after_first = rows.filter(pl.col("landed_at") > first).height
    return after_first / max((last - first).total_seconds(), 1e-3)


def wait_until_landed(landing_root: Path, event_prefix: str, valid: int, dead: int, timeout: float = 180.0) -> None:
    """Wait until `valid` events of a run and `dead` dead letters have landed (raise if not within `timeout`).

    Used instead of the group's committed offsets: on the embedded broker these were twice seen to stay behind
    for one partition after everything had landed (docs/reliability.md, known problems).
    """
    from hcp.deadletters import read_dead_letters

    deadline = time.monotonic() + timeout
    landed = lettered = 0
    while time.monotonic() < deadline:
        files = [f.path for f in iter_landing_files(landing_root, TELEMETRY_ASIC)]
        if files:
            ids = pl.read_parquet(files, columns=["event_id"])["event_id"]
            landed = int(ids.str.starts_with(event_prefix).sum())
        lettered = len(read_dead_letters(landing_root))
        if landed >= valid and lettered >= dead:
            return
        time.sleep(1.0)
    raise AssertionError(f"after {timeout:.0f} s: {landed} of {valid} events and {lettered} of {dead} dead letters")
