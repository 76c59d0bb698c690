"""Simulators -> broker -> Faust worker -> landing files -> warehouse, all real, on the embedded broker."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from hcp.fleet import load_fleet
from hcp.landing import iter_landing_files
from hcp.ledger import check_ledger, read_ledger
from hcp.processes import wait_until_caught_up
from hcp.producer import RecordProducer
from hcp.records import DeadLetter
from hcp.settings import SimulatorSettings
from hcp.topics import DEAD_LETTERS, DECISIONS, FLEET_DEVICES, TELEMETRY_ASIC
from simulators.runner import run_simulation

pytestmark = pytest.mark.integration


def landed(storage, topic) -> pl.DataFrame:
    files = [f.path for f in iter_landing_files(storage.landing_dir, topic)]
    return pl.read_parquet(files) if files else pl.DataFrame()


def test_every_simulated_event_lands_exactly_once_and_decisions_follow_prices(platform, worker):
    fleet = load_fleet()
    sim = SimulatorSettings(start=datetime(2023, 1, 16, tzinfo=UTC), hours=3, speed=4000, seed=11)
    summary = run_simulation(sim, platform.broker, platform.storage, fleet, run_id="it-pipeline")
    wait_until_caught_up(platform.broker, "hcp", worker, timeout=120)

    report = check_ledger(read_ledger(summary.ledger_path), platform.storage.landing_dir)
    print("ledger:", report.by_topic)
    assert report.produced == sum(summary.events_by_topic.values()) > 0
    assert (report.lost, report.duplicated, report.altered) == (0, 0, 0)

    devices = sum(g.count for site in fleet.sites for g in (*site.asics, *site.gpus))
    changes = landed(platform.storage, FLEET_DEVICES)
    discovered = changes.filter(pl.col("value").cast(pl.String).str.contains('"first_seen":true'))
    assert discovered.height == devices

    decisions = landed(platform.storage, DECISIONS)
    asic_models_per_site = sum(len(site.asics) for site in fleet.sites)
    assert decisions.height >= asic_models_per_site  # at least one interval decided for every site and model


def test_malformed_messages_go_to_dead_letters_with_their_origin(platform, worker):
    with RecordProducer(platform.broker) as producer:
        producer.send_raw(TELEMETRY_ASIC, "west-1", b"{not json")
        producer.send_raw(TELEMETRY_ASIC, "west-1", b'{"schema_version": 1, "event_id": "x"}')
    wait_until_caught_up(platform.broker, "hcp", worker, timeout=120)

    assert landed(platform.storage, TELEMETRY_ASIC).height == 0
    dead = [pq.read_table(f.path).to_pylist() for f in iter_landing_files(platform.storage.landing_dir, DEAD_LETTERS)]
    rows = [row for rows in dead for row in rows]
    assert sorted(row["value"] for row in rows) == sorted([b"{not json", b'{"schema_version": 1, "event_id": "x"}'])
    letters = [DeadLetter.from_headers(dict(row["headers"])) for row in rows]
    assert {letter.original_topic for letter in letters} == {TELEMETRY_ASIC}
    # Same key, same partition: the two rejects are offsets 0 and 1 of that partition.
    assert len({letter.original_partition for letter in letters}) == 1
    assert sorted(letter.original_offset for letter in letters) == [0, 1]
    assert all(letter.error_class == "RecordError" and letter.error_message for letter in letters)


def test_warehouse_holds_what_landed(platform, worker, prefect_test_server):
    from flows.warehouse import build_warehouse

    sim = SimulatorSettings(start=datetime(2023, 1, 16, 12, tzinfo=UTC), hours=2, speed=4000, seed=5)
    run_simulation(sim, platform.broker, platform.storage, load_fleet(), run_id="it-warehouse")
    wait_until_caught_up(platform.broker, "hcp", worker, timeout=120)

    build_warehouse(
        landing_dir=str(platform.storage.landing_dir), warehouse_path=str(platform.storage.warehouse_path)
    )
    asic_messages = landed(platform.storage, TELEMETRY_ASIC).height
    with duckdb.connect(str(platform.storage.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw.telemetry_asic").fetchall()[0][0] == asic_messages
        hours = con.execute("select count(*), sum(total_mwh) from main.fct_site_energy_hourly").fetchall()[0]
        assert hours[0] >= 2 * 3 and hours[1] > 0
