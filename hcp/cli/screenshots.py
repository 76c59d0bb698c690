"""The documentation screenshots, taken by the project itself (`hcp report screenshots`).

1. The daily report of a day, rendered from the home's warehouse and photographed whole in headless Chromium.
2. The Prefect UI: a temporary server (free port, its own PREFECT_HOME) and `hcp serve --api-url` serving every
   scheduled deployment, so the scheduler creates upcoming runs; the quality gate, billing and report
   deployments are then run once, as a person would from the UI, against a copy of the warehouse, so completed
   runs show beside the scheduled ones. The home itself is never written to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from hcp.broker import free_port
from hcp.prefect_server import ServeSettings, start_prefect_server
from hcp.processes import stop_process
from hcp.reports.browser import chromium_page, screenshot_file
from hcp.reports.daily import build_daily_report, resolve_day
from hcp.reports.exceptions import ReportError
from hcp.settings import StorageSettings

REPORT_PNG = "daily-report.png"
RUNS_PNG = "prefect-runs.png"
DEPLOYMENTS_PNG = "prefect-deployments.png"


def take_docs_screenshots(
    storage: StorageSettings, out: Path, day: str | None, progress: Callable[[str], object] = print
) -> list[Path]:
    """Write the report and Prefect UI screenshots into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hcp-screenshots-"))
    try:
        home = _copy_home(storage, workdir / "home")
        report_day = resolve_day(home.warehouse_path, date.fromisoformat(day) if day else None)
        progress(f"rendering the daily report of {report_day}")
        report = build_daily_report(home.warehouse_path, home.reports_dir, report_day)
        paths = [screenshot_file(report.path, out / REPORT_PNG)]
        progress("starting a temporary Prefect server")
        paths += _prefect_screenshots(home, out, report_day, progress)
        return paths
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _copy_home(storage: StorageSettings, target: Path) -> StorageSettings:
    """A home with a copy of the warehouse and a link to the (read-only) landing files."""
    target.mkdir(parents=True)
    shutil.copy2(storage.warehouse_path, target / "warehouse.duckdb")
    if storage.landing_dir.is_dir():
        (target / "landing").symlink_to(storage.landing_dir.resolve())
    return StorageSettings(home=target)


def _prefect_screenshots(home: StorageSettings, out: Path, day: date, progress: Callable[[str], object]) -> list[Path]:
    settings = ServeSettings(port=free_port(), scheduler_loop_s=2)
    server = start_prefect_server(home.home / "prefect", home.run_dir / "prefect-server.log", settings)
    serving = None
    try:
        progress(f"serving the deployments to {server.api_url} (hcp serve --api-url)")
        serving = _start_serving(home, server.api_url)
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            _run_deployments_once(day, progress)
            _wait_for_scheduled_runs(timeout_s=60)
        return _photograph_ui(server.ui_url, out)
    finally:
        if serving is not None:
            stop_process(serving)
        server.stop()


def _start_serving(home: StorageSettings, api_url: str) -> subprocess.Popen[bytes]:
    """`hcp serve --api-url URL` as a child process: the deployments get a runner, as in production."""
    env = {**os.environ, "HCP_BILLING_PDF": "false", "PREFECT_HOME": str((home.home / "prefect").resolve())}
    log = (home.run_dir / "serve.log").open("ab")
    command = [str(Path(sys.executable).with_name("hcp")), "serve", "--api-url", api_url, "--home", str(home.home)]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def _run_deployments_once(day: date, progress: Callable[[str], object]) -> None:
    """Trigger the gate, billing and report deployments once (as a person would from the UI) and wait for each."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    names = {
        "check-landed-batches/quality-hourly": {},
        "bill-customers/billing-daily": {"period_id": day.strftime("%Y-%m")},
        "build-daily-report/report-daily": {"day": day.isoformat()},
    }
    deadline = time.monotonic() + 180
    with get_client(sync_client=True) as client:
        while len(client.read_deployments()) < len(names) and time.monotonic() < deadline:
            time.sleep(1)
    for name, parameters in names.items():
        progress(f"running deployment {name}")
        run = run_deployment(name, parameters=parameters, timeout=900)
        progress(f"{name}: {run.state.name if run.state else 'unknown'}")


def _photograph_ui(ui_url: str, out: Path) -> list[Path]:
    paths = []
    with chromium_page(width=1500, height=1100) as page:
        page.goto(f"{ui_url}/runs")
        _wait_for_text(page, "Completed", out / RUNS_PNG)
        try:  # "Today" instead of "Past 7 days": the runs scheduled later today show beside the completed ones
            page.get_by_text("Past 7 days").first.click()
            page.get_by_role("option", name="Today").click()
            page.get_by_text("Scheduled").first.wait_for(timeout=30_000)
        except Exception:  # noqa: S110 - the UI's widgets may change; the default range still shows the runs
            pass
        # the list scrolls inside the page, so a full-page shot would cut it: a tall window shows every run,
        # the scheduled ones first (newest first), then the completed ones
        page.set_viewport_size({"width": 1500, "height": 2400})
        page.wait_for_timeout(2000)  # let the chart and counts finish drawing
        page.screenshot(path=str(out / RUNS_PNG))
        page.set_viewport_size({"width": 1500, "height": 1100})
        paths.append(out / RUNS_PNG)
        page.goto(f"{ui_url}/deployments")
        _wait_for_text(page, "billing-daily", out / DEPLOYMENTS_PNG)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / DEPLOYMENTS_PNG))
        paths.append(out / DEPLOYMENTS_PNG)
    return paths


def _wait_for_text(page, text: str, target: Path) -> None:
    try:
        page.get_by_text(text).first.wait_for(timeout=90_000)
    except Exception as err:  # playwright's TimeoutError: keep what the page shows, for the reader
        failed = target.with_name(f"failed-{target.name}")
        page.screenshot(path=str(failed))
        raise ReportError(f"{page.url} never showed {text!r}; see {failed}") from err


def _wait_for_scheduled_runs(timeout_s: float) -> int:
    """Wait until the server's scheduler has created upcoming runs; returns how many there are."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStateName

    deadline = time.monotonic() + timeout_s
    count = 0
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(state=dict(name=FlowRunFilterStateName(any_=["Scheduled"])))
            )
            count = len(runs)
            if count:
                return count
            time.sleep(1)
    return count
