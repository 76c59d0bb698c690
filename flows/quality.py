"""The data-quality gate flow: validate every landed batch before billing or training may use it.

`check_landed_batches` runs the great-expectations gate (`hcp.quality`), logs its report as a Markdown
artifact and fails, naming each failed check, if any batch is bad. Billing and training call
`require_quality_gate` first, so a bad batch stops them before they read anything.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import MissingContextError

from hcp.quality import GateReport, QualityGateError, QualitySettings, run_gate
from hcp.settings import load_settings


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def default_quality_dir(warehouse_path: str) -> str:
    """`<home>/quality` for a warehouse at `<home>/warehouse.duckdb`."""
    return str(Path(warehouse_path).parent / "quality")


@task(retries=2, retry_delay_seconds=2, retry_condition_fn=lambda task, run, state: _is_io_error(state))
def validate_landed_batches(landing_dir: str, warehouse_path: str, quality_dir: str) -> GateReport:
    """Run the gate over every landing file; store results and Data Docs under `quality_dir`. Never raises on
    bad data (the flow decides); retried only when reading the files failed (I/O)."""
    settings = load_settings(QualitySettings)
    report = run_gate(Path(landing_dir), Path(warehouse_path), Path(quality_dir), settings)
    _logger().info("%s", report.describe())
    return report


def _is_io_error(state) -> bool:
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


@flow(name="check-landed-batches")
def check_landed_batches(landing_dir: str, warehouse_path: str, quality_dir: str | None = None) -> dict:
    """Validate the landed batches; raise `QualityGateError` (naming each failure) if any check fails.

    Returns `{"passed", "files", "pending_files", "checks", "failures", "data_docs"}`.
    """
    quality_dir = quality_dir or default_quality_dir(warehouse_path)
    report = validate_landed_batches(landing_dir, warehouse_path, quality_dir)
    create_markdown_artifact(
        key="quality-gate",
        markdown=report.to_markdown(),
        description=f"Data-quality gate over {landing_dir}",
    )
    if not report.passed:
        raise QualityGateError(report)
    return {
        "passed": True,
        "files": report.files,
        "pending_files": report.pending_files,
        "checks": report.checks,
        "failures": [],
        "data_docs": report.data_docs,
    }


def require_quality_gate(warehouse_path: str, landing_dir: str | None = None, quality_dir: str | None = None) -> dict:
    """Run the gate as a subflow of the calling flow (billing, training): returns its summary if every batch
    passed, raises `QualityGateError` (which fails the caller before it does anything else) if not.

    The landing folder and the quality folder default to `landing/` and `quality/` beside the warehouse file
    (the storage home's layout)."""
    landing_dir = landing_dir or str(Path(warehouse_path).parent / "landing")
    return check_landed_batches(landing_dir, warehouse_path, quality_dir)
