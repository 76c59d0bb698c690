"""The Prefect warehouse flow under a temporary Prefect server, and its tasks through `.fn`."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows
from flows.warehouse import build_warehouse, count_warehouse_rows, load_landing_files
from warehouse.exceptions import DbtBuildError
from warehouse.schema import raw_table

from .conftest import LandingScenario

pytestmark = pytest.mark.component


def test_flow_loads_builds_and_returns_row_counts(prefect_test_server, tmp_path, landing_scenario: LandingScenario):
    landing_scenario.write(tmp_path / "landing")
    warehouse = tmp_path / "state" / "warehouse.duckdb"

    result = build_warehouse(str(tmp_path / "landing"), str(warehouse))

    assert result["load"]["rows_inserted"] == landing_scenario.landed_counts
    assert set(result["dbt"]["statuses"]) <= {"success", "pass"}
    rows = result["row_counts"]
    for topic, landed in landing_scenario.landed_counts.items():
        assert rows[raw_table(topic)] == landed
    assert rows["main.fct_decisions"] == len({d.decision_id for d in landing_scenario.decisions})
    assert rows["main.fct_site_energy_hourly"] > 0
    assert rows["main.dim_devices"] > 0
    assert (warehouse.parent / "dbt" / "target" / "run_results.json").is_file()


def test_flow_fails_naming_the_broken_model(prefect_test_server, tmp_path):
    project = tmp_path / "broken"
    (project / "models").mkdir(parents=True)
    real = Path(flows.warehouse.__file__).resolve().parent.parent / "dbt"
    for name in ("dbt_project.yml", "profiles.yml"):
        (project / name).write_text((real / name).read_text())
    (project / "models" / "broken_model.sql").write_text("select * from no_such_table\n")

    with pytest.raises(DbtBuildError, match="broken_model"):
        build_warehouse(str(tmp_path / "landing"), str(tmp_path / "warehouse.duckdb"), dbt_project_dir=str(project))


def test_load_task_run_twice_loads_each_file_once(tmp_path, landing_scenario: LandingScenario):
    landing_scenario.write(tmp_path / "landing")
    warehouse = str(tmp_path / "warehouse.duckdb")

    first = load_landing_files.fn(str(tmp_path / "landing"), warehouse)
    second = load_landing_files.fn(str(tmp_path / "landing"), warehouse)

    assert first["files_loaded"] == len(landing_scenario.landed_counts)
    assert second == {"files_loaded": 0, "files_ignored": 0, "rows_inserted": {}}


def test_count_task_reports_raw_tables_without_marts_before_dbt(tmp_path, landing_scenario: LandingScenario):
    landing_scenario.write(tmp_path / "landing")
    warehouse = str(tmp_path / "warehouse.duckdb")
    load_landing_files.fn(str(tmp_path / "landing"), warehouse)

    counts = count_warehouse_rows.fn(warehouse)

    assert counts["raw.telemetry_gpu"] == len(landing_scenario.gpu_polls)
    assert not any(name.startswith("main.") for name in counts)


def test_flows_package_exports_the_warehouse_flow():
    assert flows.build_warehouse is build_warehouse
    assert build_warehouse.name == "build-warehouse"
