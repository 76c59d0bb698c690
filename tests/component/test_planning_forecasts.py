"""The planning flow's tasks (through `.fn`) publish forecasts that dbt exposes as marts; absent files: empty marts."""

import duckdb
import polars as pl
import pytest
from dbt.cli.main import dbtRunner

from flows.planning import forecast_demand_week, forecast_prices_week, plan_capacity
from hcp.fleet import load_fleet
from hcp.settings import REPO_ROOT

pytestmark = [pytest.mark.component, pytest.mark.shared_data]

FORECAST_MODELS = (
    "stg_forecasts__price_forecast stg_forecasts__capacity_plan fct_price_forecast_hourly fct_capacity_plan_hourly"
)


def build_forecast_models(warehouse, monkeypatch):
    monkeypatch.setenv("HCP_WAREHOUSE_DUCKDB_PATH", str(warehouse))
    project = str(REPO_ROOT / "dbt")
    work = warehouse.parent / "dbt"
    args = ["build", "--project-dir", project, "--profiles-dir", project, "--target-path", str(work / "target"),
            "--log-path", str(work / "logs"), "--select", *FORECAST_MODELS.split(), "--no-send-anonymous-usage-stats"]
    outcome = dbtRunner().invoke(args)
    assert outcome.success, outcome.exception


def test_forecasts_land_in_the_capacity_plan_and_price_forecast_marts(shared_data_dir, tmp_path, monkeypatch):
    home = tmp_path / "home"
    requests = str(shared_data_dir / "traces" / "genai_requests_2024-11-15_2024-11-30.csv")
    prices = str(shared_data_dir / "ercot" / "dam_spp_hourly_2022_2023.csv")
    demand = forecast_demand_week.fn(str(home), None, requests, 7)
    # The request trace ends in 2024, after the price file: plan from the price file's last month instead.
    demand_first = "2023-12-20T00:00:00"
    nodes = sorted({s.node for s in load_fleet().sites})
    priced = forecast_prices_week.fn(str(home), prices, nodes, demand_first, 7)
    assert priced["nodes"] == len(nodes) and not priced["skipped"]
    week = pl.read_parquet(demand["path"])
    shifted = week.with_columns(pl.datetime_range(
        pl.datetime(2023, 12, 20), pl.datetime(2023, 12, 20) + pl.duration(hours=len(week) - 1), "1h"
    ).alias("hour"))
    shifted_path = home / "forecasts" / "demand_shifted.parquet"
    shifted.write_parquet(shifted_path)
    plan = plan_capacity.fn(str(home), str(shifted_path), "trace", priced["path"], None, 60.0)
    assert plan["rows"] > 0

    warehouse = home / "warehouse.duckdb"
    build_forecast_models(warehouse, monkeypatch)
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        sites = conn.execute("select count(distinct site_id), count(*) from fct_capacity_plan_hourly").fetchone()
        nodes_seen = conn.execute("select count(distinct node) from fct_price_forecast_hourly").fetchone()[0]
        shares = conn.execute(
            "select min(gpu_power_share), max(gpu_power_share), bool_and(recommended_gpu_mw + recommended_asic_mw"
            " <= power_cap_mw + 1e-9) from fct_capacity_plan_hourly"
        ).fetchone()
    finally:
        conn.close()
    assert sites == (len(load_fleet().sites), plan["rows"])
    assert nodes_seen == len(nodes)
    assert 0 <= shares[0] <= shares[1] <= 1 and shares[2]


def test_without_forecast_files_the_marts_are_built_empty(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    build_forecast_models(warehouse, monkeypatch)
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        counts = [conn.execute(f"select count(*) from {t}").fetchone()[0]
                  for t in ("fct_capacity_plan_hourly", "fct_price_forecast_hourly")]
    finally:
        conn.close()
    assert counts == [0, 0]
