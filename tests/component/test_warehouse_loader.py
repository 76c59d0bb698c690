"""The warehouse loader against real landing files on a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from hcp.fleet import Customer, DeviceGroup, Fleet, Site, load_fleet
from hcp.landing import LandingWriter, iter_landing_files
from hcp.topics import MARKET_PRICES, TELEMETRY_ASIC
from warehouse.connection import count_table_rows, open_readonly
from warehouse.exceptions import LoadError, WarehouseError
from warehouse.loader import load_landing
from warehouse.schema import RAW_TABLES, raw_table

from .conftest import LandingScenario, land_records

pytestmark = pytest.mark.component


@pytest.fixture
def landing_root(tmp_path: Path, landing_scenario: LandingScenario) -> Path:
    root = tmp_path / "landing"
    landing_scenario.write(root)
    return root


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "warehouse.duckdb"


def raw_counts(warehouse_path: Path) -> dict[str, int]:
    conn = open_readonly(warehouse_path)
    try:
        return count_table_rows(conn, ("raw",))
    finally:
        conn.close()


def offsets(warehouse_path: Path, topic: str) -> list[tuple[int, int]]:
    conn = open_readonly(warehouse_path)
    try:
        return conn.execute(f'select "partition", "offset" from {raw_table(topic)} order by 1, 2').fetchall()
    finally:
        conn.close()


def test_load_inserts_every_landed_message_into_its_topic_table(landing_root, warehouse_path, landing_scenario):
    summary = load_landing(landing_root, warehouse_path, load_fleet())

    counts = raw_counts(warehouse_path)
    for topic, expected in landing_scenario.landed_counts.items():
        assert summary.rows_inserted[topic] == expected
        assert counts[raw_table(topic)] == expected
    assert summary.files_loaded == len(list(iter_landing_files(landing_root)))
    assert counts["raw.loaded_files"] == summary.files_loaded
    assert all(counts[raw_table(t)] == 0 for t in RAW_TABLES if t not in landing_scenario.landed_counts)


def test_raw_rows_keep_the_landed_bytes_and_headers(landing_root, warehouse_path, landing_scenario):
    load_landing(landing_root, warehouse_path, load_fleet())

    conn = open_readonly(warehouse_path)
    try:
        (value,) = conn.execute(f'select value from {raw_table(MARKET_PRICES)} where "offset" = 0').fetchone()
        (origin,) = conn.execute("select decode(headers['hcp.original.topic']) from raw.deadletters").fetchone()
    finally:
        conn.close()
    assert bytes(value) == landing_scenario.prices[0].to_json()
    assert origin == landing_scenario.dead_letter.original_topic


def test_second_load_without_new_files_inserts_nothing(landing_root, warehouse_path):
    load_landing(landing_root, warehouse_path, load_fleet())
    before = raw_counts(warehouse_path)

    again = load_landing(landing_root, warehouse_path, load_fleet())

    assert again.files_loaded == 0
    assert again.total_rows == 0
    assert raw_counts(warehouse_path) == before


def test_new_file_after_a_load_adds_only_its_messages(tmp_path, warehouse_path, landing_scenario):
    root = tmp_path / "landing"
    writer = LandingWriter(root)
    polls = landing_scenario.asic_polls
    land_records(writer, TELEMETRY_ASIC, 0, polls[:2])
    load_landing(root, warehouse_path, load_fleet())

    land_records(writer, TELEMETRY_ASIC, 0, polls[2:], first_offset=2)
    summary = load_landing(root, warehouse_path, load_fleet())

    assert summary.files_loaded == 1
    assert summary.rows_inserted == {TELEMETRY_ASIC: len(polls) - 2}
    assert offsets(warehouse_path, TELEMETRY_ASIC) == [(0, i) for i in range(len(polls))]


def overlapping_file(tmp_path: Path, root: Path, scenario: LandingScenario, first: int) -> Path:
    """Land polls from offset `first` under another root and move the file into `root` (as a replay might)."""
    other = tmp_path / f"other-{first}"
    path = land_records(LandingWriter(other), TELEMETRY_ASIC, 0, scenario.asic_polls, first_offset=first)
    assert path is not None
    target = root / path.relative_to(other)
    shutil.move(path, target)
    return target


def test_overlapping_file_in_a_later_load_inserts_only_unseen_offsets(tmp_path, warehouse_path, landing_scenario):
    root = tmp_path / "landing"
    polls = landing_scenario.asic_polls
    land_records(LandingWriter(root), TELEMETRY_ASIC, 0, polls)
    load_landing(root, warehouse_path, load_fleet())

    overlapping_file(tmp_path, root, landing_scenario, first=2)
    summary = load_landing(root, warehouse_path, load_fleet())

    assert summary.rows_inserted == {TELEMETRY_ASIC: 2}
    assert offsets(warehouse_path, TELEMETRY_ASIC) == [(0, i) for i in range(len(polls) + 2)]


def test_overlapping_files_in_one_load_do_not_duplicate(tmp_path, warehouse_path, landing_scenario):
    root = tmp_path / "landing"
    polls = landing_scenario.asic_polls
    land_records(LandingWriter(root), TELEMETRY_ASIC, 0, polls)
    overlapping_file(tmp_path, root, landing_scenario, first=1)

    summary = load_landing(root, warehouse_path, load_fleet())

    assert summary.files_loaded == 2
    assert summary.rows_inserted == {TELEMETRY_ASIC: len(polls) + 1}
    assert offsets(warehouse_path, TELEMETRY_ASIC) == [(0, i) for i in range(len(polls) + 1)]
    conn = open_readonly(warehouse_path)
    try:
        registered = conn.execute("select sum(row_count), sum(rows_inserted) from raw.loaded_files").fetchone()
    finally:
        conn.close()
    assert registered == (2 * len(polls), len(polls) + 1)


def test_unreadable_file_rolls_back_the_whole_load(landing_root, warehouse_path):
    load_landing(landing_root / "nothing-yet", warehouse_path, load_fleet())
    files = list(iter_landing_files(landing_root))
    files[-1].path.write_bytes(b"not parquet")

    with pytest.raises(LoadError, match="rolled back"):
        load_landing(landing_root, warehouse_path, load_fleet())

    counts = raw_counts(warehouse_path)
    assert counts["raw.loaded_files"] == 0
    assert all(counts[raw_table(topic)] == 0 for topic in RAW_TABLES)


def test_fleet_tables_are_rewritten_from_the_fleet_on_every_load(landing_root, warehouse_path):
    load_landing(landing_root, warehouse_path, load_fleet())
    small = Fleet(
        sites=(Site(site_id="solo-1", node="HB_SOUTH", power_cap_mw=1.5, asics=(DeviceGroup(model="S21", count=10),)),),
        customers=(Customer(customer_id="acme-ai"),),
    )

    load_landing(landing_root, warehouse_path, small)

    conn = open_readonly(warehouse_path)
    try:
        sites = conn.execute("select site_id, node, power_cap_mw from raw.sites").fetchall()
        devices = conn.execute("select site_id, device_kind, model, count from raw.site_devices").fetchall()
    finally:
        conn.close()
    assert sites == [("solo-1", "HB_SOUTH", 1.5)]
    assert devices == [("solo-1", "asic", "S21", 10)]


def test_load_of_an_empty_landing_folder_creates_every_raw_table(tmp_path, warehouse_path):
    summary = load_landing(tmp_path / "missing", warehouse_path, load_fleet())

    counts = raw_counts(warehouse_path)
    assert summary.files_loaded == 0
    assert {raw_table(topic) for topic in RAW_TABLES} <= set(counts)
    assert counts["raw.sites"] == len(load_fleet().sites)


def test_read_only_connection_refuses_writes(landing_root, warehouse_path):
    load_landing(landing_root, warehouse_path, load_fleet())

    conn = open_readonly(warehouse_path)
    try:
        with pytest.raises(duckdb.Error):
            conn.execute("delete from raw.sites")
    finally:
        conn.close()


def test_opening_a_missing_warehouse_says_so(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse"):
        open_readonly(tmp_path / "absent.duckdb")
