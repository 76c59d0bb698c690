"""DuckDB's memory limit and spill folder reach every writer of the warehouse: the loader and dbt."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from hcp.exceptions import ConfigError
from hcp.fleet import load_fleet
from hcp.settings import WarehouseSettings, load_settings
from warehouse.exceptions import LoadError
from warehouse.limits import DEFAULT_MEMORY_LIMIT, WarehouseLimits
from warehouse.loader import load_landing
from warehouse.transform import build_models

from .conftest import LandingScenario

pytestmark = pytest.mark.component

PROJECT_DIR = WarehouseSettings().dbt_project_dir


def test_settings_name_what_is_wrong_with_a_memory_limit(monkeypatch):
    monkeypatch.setenv("HCP_WAREHOUSE_MEMORY_LIMIT", "lots")

    with pytest.raises(ConfigError, match=r"HCP_WAREHOUSE_MEMORY_LIMIT.*'lots'.*'60%'.*'8GB'"):
        load_settings(WarehouseSettings)


def test_settings_become_limits_and_task_parameters_and_back(monkeypatch, tmp_path):
    monkeypatch.setenv("HCP_WAREHOUSE_MEMORY_LIMIT", "3GiB")
    monkeypatch.setenv("HCP_WAREHOUSE_TEMP_DIRECTORY", str(tmp_path / "spill"))

    limits = WarehouseLimits.from_settings(load_settings(WarehouseSettings))

    assert limits == WarehouseLimits("3GiB", tmp_path / "spill")
    assert WarehouseLimits.from_parameters(**limits.task_parameters()) == limits
    assert WarehouseLimits.from_parameters(None, None) == WarehouseLimits(DEFAULT_MEMORY_LIMIT, None)
    assert limits.duckdb_config(tmp_path / "w.duckdb") == {
        "memory_limit": "3GiB",
        "temp_directory": str(tmp_path / "spill"),
    }
    assert WarehouseLimits().spill_dir(tmp_path / "w.duckdb") == tmp_path / "w.duckdb.tmp"


def test_the_loader_holds_no_more_memory_than_its_limit(tmp_path, landing_scenario: LandingScenario):
    landing_scenario.write(tmp_path / "landing")
    warehouse = tmp_path / "warehouse.duckdb"

    # One MB cannot hold the load: DuckDB refuses rather than growing, and the load is rolled back.
    with pytest.raises(LoadError, match="Out of Memory"):
        load_landing(tmp_path / "landing", warehouse, load_fleet(), WarehouseLimits("1MB"))
    summary = load_landing(tmp_path / "landing", warehouse, load_fleet(), WarehouseLimits("256MB"))

    assert summary.total_rows == sum(landing_scenario.landed_counts.values())


def test_dbt_runs_under_the_limits_it_is_given(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text((PROJECT_DIR / "dbt_project.yml").read_text())
    (project / "profiles.yml").write_text((PROJECT_DIR / "profiles.yml").read_text())
    (project / "models" / "duckdb_settings.sql").write_text(
        "{{ config(materialized='table') }}\n"  # a view would read the settings of whoever queries it
        "select current_setting('memory_limit') as memory_limit, current_setting('temp_directory') as spill\n"
    )
    warehouse = tmp_path / "warehouse.duckdb"

    build_models(project, warehouse, work_dir=tmp_path / "dbt", limits=WarehouseLimits("2GiB", tmp_path / "spill"))
    build_models(project, tmp_path / "default.duckdb", work_dir=tmp_path / "dbt-default")

    assert read_settings(warehouse) == ("2.0 GiB", str(tmp_path / "spill"))
    with duckdb.connect(config={"memory_limit": DEFAULT_MEMORY_LIMIT}) as conn:
        [(default_memory,)] = conn.execute("select current_setting('memory_limit')").fetchall()
    assert read_settings(tmp_path / "default.duckdb") == (default_memory, f"{tmp_path / 'default.duckdb'}.tmp")


def read_settings(warehouse: Path) -> tuple[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        [row] = conn.execute("select memory_limit, spill from main.duckdb_settings").fetchall()
    return row
