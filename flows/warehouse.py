"""The warehouse flow: load the new landing files, build the dbt project, count what the warehouse holds.

Tasks pass paths and return small summaries; DuckDB and dbt do the work (warehouse.loader, warehouse.transform).
"""

from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.exceptions import MissingContextError

from hcp.fleet import load_fleet
from hcp.settings import WarehouseSettings, load_settings
from warehouse.connection import count_table_rows, open_readonly
from warehouse.limits import WarehouseLimits
from warehouse.loader import load_landing
from warehouse.transform import build_models


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger inside a flow or task run; a plain logger when a task is called through `.fn`."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@task(retries=2, retry_delay_seconds=2)
def load_landing_files(
    landing_dir: str,
    warehouse_path: str,
    fleet_file: str | None = None,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
) -> dict:
    """Load landing files not loaded yet; returns files loaded and rows inserted per topic."""
    fleet = load_fleet(Path(fleet_file) if fleet_file else None)
    limits = WarehouseLimits.from_parameters(memory_limit, temp_directory)
    summary = load_landing(Path(landing_dir), Path(warehouse_path), fleet, limits)
    _logger().info("loaded %d new landing files, %d rows", summary.files_loaded, summary.total_rows)
    return {
        "files_loaded": summary.files_loaded,
        "files_ignored": summary.files_ignored,
        "rows_inserted": dict(summary.rows_inserted),
    }


@task
def run_dbt_build(
    dbt_project_dir: str, warehouse_path: str, memory_limit: str | None = None, temp_directory: str | None = None
) -> dict:
    """`dbt build` (models, data tests, unit tests); raises DbtBuildError naming the failed nodes."""
    limits = WarehouseLimits.from_parameters(memory_limit, temp_directory)
    summary = build_models(Path(dbt_project_dir), Path(warehouse_path), limits=limits)
    _logger().info("dbt build: %d nodes, %s", summary.nodes, dict(summary.statuses))
    return {"nodes": summary.nodes, "statuses": dict(summary.statuses)}


@task
def count_warehouse_rows(warehouse_path: str) -> dict[str, int]:
    """Rows in every raw and mart table, through a read-only connection."""
    conn = open_readonly(Path(warehouse_path))
    try:
        counts = count_table_rows(conn)
    finally:
        conn.close()
    return counts


@flow(name="build-warehouse")
def build_warehouse(
    landing_dir: str, warehouse_path: str, fleet_file: str | None = None, dbt_project_dir: str | None = None
) -> dict:
    """Load landed Kafka messages into DuckDB, build the dbt marts and report row counts.

    Returns `{"load": {files_loaded, files_ignored, rows_inserted}, "dbt": {nodes, statuses},
    "row_counts": {"raw.<table>" | "main.<mart>": rows}}`.
    """
    settings = load_settings(WarehouseSettings)
    project_dir = dbt_project_dir or str(settings.dbt_project_dir)
    limits = WarehouseLimits.from_settings(settings).task_parameters()
    loaded = load_landing_files(landing_dir, warehouse_path, fleet_file, **limits)
    built = run_dbt_build(project_dir, warehouse_path, **limits)
    row_counts = count_warehouse_rows(warehouse_path)
    create_table_artifact(
        key="warehouse-row-counts",
        table=[{"table": name, "rows": rows} for name, rows in sorted(row_counts.items())],
        description=f"Rows per table in {warehouse_path}",
    )
    return {"load": loaded, "dbt": built, "row_counts": row_counts}
