"""The Beam backfill (DirectRunner) recomputes the hourly site, device and GPU usage marts from the landing files,
equal to what dbt builds from the same files."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from backfill.pipeline import run_backfill
from hcp.fleet import load_fleet
from hcp.settings import WarehouseSettings
from warehouse.loader import load_landing
from warehouse.transform import build_models

from .conftest import LandingScenario

pytestmark = pytest.mark.component

FLOAT_TOLERANCE = 1e-9  # relative: DuckDB and Python add the same numbers in another order


def read_mart(warehouse, name: str, key: str) -> pl.DataFrame:
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        table = conn.sql(f"select * from {name} order by {key}").to_arrow_table()
    finally:
        conn.close()
    return pl.from_arrow(table)


def assert_frames_match(beam: pl.DataFrame, mart: pl.DataFrame) -> None:
    assert beam.columns == mart.columns
    assert beam.height == mart.height > 0
    for name in mart.columns:
        ours, theirs = beam[name], mart[name]
        assert ours.is_null().to_list() == theirs.is_null().to_list(), name
        if theirs.dtype.is_float():
            scale = theirs.abs().fill_null(0.0) + 1e-12
            worst = ((ours - theirs).abs().fill_null(0.0) / scale).max()
            assert worst <= FLOAT_TOLERANCE, f"{name}: relative difference {worst}"
        elif isinstance(theirs.dtype, pl.Datetime):
            assert ours.dt.epoch("us").to_list() == theirs.dt.epoch("us").to_list(), name
        else:
            assert ours.to_list() == theirs.to_list(), name


def test_beam_backfill_equals_the_dbt_marts_for_the_same_landing_files(tmp_path, landing_scenario: LandingScenario):
    landing_scenario.write(tmp_path / "landing")  # includes a poll landed twice: both must count it once
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(tmp_path / "landing", warehouse, load_fleet())
    marts = ("+fct_site_energy_hourly", "+fct_device_telemetry_hourly", "+fct_gpu_usage_hourly")
    build_models(WarehouseSettings().dbt_project_dir, warehouse, select=marts)

    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    out = run_backfill(tmp_path / "landing", load_fleet(), start, end, tmp_path / "beam")

    sites = pl.read_parquet(str(out / "site_energy_hourly-*.parquet")).sort("site_hour_id")
    assert_frames_match(sites, read_mart(warehouse, "fct_site_energy_hourly", "site_hour_id"))
    devices = pl.read_parquet(str(out / "device_telemetry_hourly-*.parquet")).sort("device_hour_id")
    assert_frames_match(devices, read_mart(warehouse, "fct_device_telemetry_hourly", "device_hour_id"))
    usage = pl.read_parquet(str(out / "gpu_usage_hourly-*.parquet")).sort("usage_id")
    assert_frames_match(usage, read_mart(warehouse, "fct_gpu_usage_hourly", "usage_id"))


def test_beam_backfill_keeps_only_the_hours_asked_for(tmp_path, landing_scenario: LandingScenario):
    landing_scenario.write(tmp_path / "landing")
    first = min(p.event_time for p in landing_scenario.asic_polls).replace(minute=0, second=0, microsecond=0)
    end = first.replace(hour=first.hour + 1)
    out = run_backfill(tmp_path / "landing", load_fleet(), first, end, tmp_path / "beam")
    hours = pl.read_parquet(str(out / "site_energy_hourly-*.parquet"))["hour_start"].unique().to_list()
    assert [h.replace(tzinfo=UTC) if h.tzinfo is None else h for h in hours] == [first]
