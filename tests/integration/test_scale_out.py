"""Two ingest workers in one consumer group split the site-keyed telemetry partitions and get one worker's results."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from hcp.fleet import Customer, DeviceGroup, Fleet, Site
from hcp.landing import iter_landing_files
from hcp.processes import start_worker_process, stop_process, wait_until_caught_up, wait_until_group_stable
from hcp.producer import RecordProducer
from hcp.records import DeviceChange
from hcp.settings import StorageSettings
from hcp.topics import FLEET_DEVICES, TELEMETRY_ASIC
from simulators.asic import AsicFleetSimulator

pytestmark = pytest.mark.integration

T0 = datetime(2023, 1, 16, tzinfo=UTC)
SITES = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
POLLS = 3


def small_fleet() -> Fleet:
    asics = (DeviceGroup(model="S21", count=40),)
    sites = tuple(
        Site(site_id=name, node="HB_WEST", power_cap_mw=1, collector_size=20, asics=asics) for name in SITES
    )
    return Fleet(sites=sites, customers=(Customer(customer_id="acme"),))


def write_fleet(fleet: Fleet, path: Path) -> Path:
    lines = ["sites:"]
    for site in fleet.sites:
        lines += [
            f"  - {{site_id: {site.site_id}, node: {site.node}, power_cap_mw: {site.power_cap_mw}, "
            f"collector_size: {site.collector_size}, asics: [{{model: S21, count: 40}}]}}"
        ]
    path.write_text("\n".join([*lines, "customers:", "  - {customer_id: acme}"]) + "\n")
    return path


def publish_polls(platform, fleet: Fleet) -> int:
    simulator = AsicFleetSimulator(fleet, 60.0, 30.0, np.random.default_rng(5))
    sent = 0
    with RecordProducer(platform.broker) as producer:
        for k in range(POLLS):
            for poll in simulator.poll(T0 + timedelta(minutes=k)):
                producer.send(poll, key=poll.site_id)
                sent += 1
    return sent


def landed_telemetry(*storages: StorageSettings) -> pl.DataFrame:
    files = [f.path for s in storages for f in iter_landing_files(s.landing_dir, TELEMETRY_ASIC)]
    if not files:
        return pl.DataFrame(schema={"partition": pl.Int32, "offset": pl.Int64, "key": pl.String, "event_id": pl.String})
    return pl.read_parquet(files).select("partition", "offset", "key", "event_id").sort("partition", "offset")


def discoveries(platform) -> Counter:
    """How often each device's discovery was published on fleet.devices."""
    consumer = Consumer(platform.broker.librdkafka_config() | {"group.id": "test-reader"})
    metadata = consumer.list_topics(FLEET_DEVICES, timeout=10)
    partitions = metadata.topics[FLEET_DEVICES].partitions
    consumer.assign([TopicPartition(FLEET_DEVICES, p, OFFSET_BEGINNING) for p in partitions])
    seen: Counter = Counter()
    while messages := consumer.consume(num_messages=1000, timeout=2.0):
        for message in messages:
            change = DeviceChange.model_validate_json(message.value())
            if change.first_seen:
                seen[change.device_id] += 1
    consumer.close()
    return seen


def run_group(platform, tmp_path: Path, group: str, workers: int, fleet_file: Path, publish=None):
    """Start `workers` ingest workers in `group`, each landing into a folder of its own (to see who did what);
    publish once they are all in the group. Return each worker's storage."""
    storages = [StorageSettings(home=tmp_path / f"{group}-{i}") for i in range(workers)]
    processes = [
        start_worker_process(
            platform.env
            | {"HCP_WORKER_APP_ID": group, "HCP_STORAGE_HOME": str(s.home), "HCP_FLEET_FILE": str(fleet_file)},
            tmp_path / f"{group}-{i}.log",
            role="ingest",
        )
        for i, s in enumerate(storages)
    ]
    try:
        for process in processes:
            wait_until_group_stable(platform.broker, group, process, timeout=90)
        if publish:
            publish()
        wait_until_caught_up(platform.broker, group, processes[0], timeout=120, topics=[TELEMETRY_ASIC])
        return storages
    finally:
        for process in processes:
            stop_process(process)


def test_two_workers_split_site_partitions_and_land_and_discover_what_one_worker_does(platform, tmp_path):
    fleet = small_fleet()
    fleet_file = write_fleet(fleet, tmp_path / "fleet.yaml")
    sent = []

    def publish() -> None:
        sent.append(publish_polls(platform, fleet))

    two = run_group(platform, tmp_path, "hcp-two", 2, fleet_file, publish)
    [one] = run_group(platform, tmp_path, "hcp-one", 1, fleet_file)

    by_one, by_two = landed_telemetry(one), landed_telemetry(*two)
    assert by_one.height == sent[0] > 0
    assert by_two.equals(by_one)  # the same messages landed, each exactly once

    # Each site's telemetry is in one partition; each worker landed partitions of its own, and both had work.
    assert by_one.group_by("key").agg(pl.col("partition").n_unique())["partition"].max() == 1
    split = [set(landed_telemetry(storage)["partition"].unique()) for storage in two]
    print("telemetry partitions landed per worker:", split)
    assert all(split) and not split[0] & split[1]

    # Each group discovered every device exactly once: no device is discovered by both workers of a group.
    devices = AsicFleetSimulator(fleet, 60.0, 30.0, np.random.default_rng(0)).device_ids
    assert len(devices) == 40 * len(SITES)
    assert discoveries(platform) == dict.fromkeys(devices, 2)
