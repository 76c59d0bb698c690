"""Sending valid and poison telemetry (`simulators.poison`) for the fault tests, and landing measurements."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from confluent_kafka import Producer

from hcp.exceptions import ProducerError
from hcp.landing import iter_landing_files
from hcp.ledger import LedgerWriter, check_ledger, read_ledger
from hcp.settings import BrokerSettings
from hcp.topics import TELEMETRY_ASIC
from simulators.poison import T0, asic_poll, demo_sites, poison_polls, valid_polls

__all__ = ["T0", "SentBatch", "asic_poll", "landing_rate", "poison_polls", "send_mixed", "valid_polls",
           "wait_until_every_event_landed", "wait_until_landed"]


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
    places = sorted(rng.sample(range(len(demo_sites()), len(valid)), len(poison)))
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


def wait_until_every_event_landed(ledger_path: Path, root: Path, timeout: float = 180.0) -> None:
    """Return once every event of the ledger has landed (raise with the ledger check if not within `timeout`)."""
    started = time.monotonic()
    while True:
        report = check_ledger(read_ledger(ledger_path), root)
        if report.lost == 0:
            return
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{report.lost} events not landed {timeout:.0f} s after the flow: {report.by_topic}")
        time.sleep(2.0)
