"""The daily report flow: render the day's operations and finance report and log where it is.

The report is one self-contained HTML file per day (`<reports dir>/daily-<day>.html`, charts embedded);
re-running a day replaces that day's file. Its path is logged as a link artifact and a Markdown artifact.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.exceptions import MissingContextError

from hcp.reports import daily


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@task(retries=2, retry_delay_seconds=2)
def render_daily_report(warehouse_path: str, reports_dir: str, day: str) -> dict:
    """Write the HTML report of `day` (replacing an earlier one); returns its path and the sections with data."""
    report = daily.build_daily_report(Path(warehouse_path), Path(reports_dir), date.fromisoformat(day))
    if report.empty_sections:
        _logger().warning("daily report %s: no data for %s", day, ", ".join(report.empty_sections))
    _logger().info("daily report written to %s", report.path)
    return {"path": str(report.path), "day": day, "sections": report.sections}


@flow(name="build-daily-report")
def build_daily_report(warehouse_path: str, reports_dir: str | None = None, day: str | None = None) -> dict:
    """Render the daily report of `day` (YYYY-MM-DD, UTC; default: the latest complete day in the warehouse)
    into `reports_dir` (default: `reports/` beside the warehouse) and log its path as an artifact."""
    reports_dir = reports_dir or str(Path(warehouse_path).parent / "reports")
    day = day or daily.resolve_day(Path(warehouse_path), None).isoformat()
    result = render_daily_report(warehouse_path, reports_dir, day)
    path = Path(result["path"]).resolve()
    create_link_artifact(
        key="daily-report", link=path.as_uri(), link_text=f"daily report {day}", description=f"Daily report {day}"
    )
    sections = ", ".join(f"{key} {'✓' if has else '(no data)'}" for key, has in result["sections"].items())
    create_markdown_artifact(
        key="daily-report-path",
        markdown=f"**Daily report {day}**: `{path}`\n\nSections: {sections}",
        description=f"Where the daily report of {day} is",
    )
    return result
