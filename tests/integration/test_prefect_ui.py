"""The real Prefect UI, in headless Chromium: a completed billing run shows on its flow-runs page.

A real Prefect server runs as a child process (free port, its own PREFECT_HOME); the billing flow runs against
it on a small landed scenario; the test then opens `/runs` in the system Chromium and finds the run there,
marked Completed. The screenshot goes to pytest's temporary folder and, when HCP_TEST_ARTIFACTS_DIR is set (CI),
is copied there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hcp.prefect_server import PrefectServer, ServeSettings, start_prefect_server
from hcp.reports.browser import chromium_page
from tests.component.test_billing_flow import NOW, land_scenario, refresh_warehouse
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[PrefectServer]:
    server = start_prefect_server(
        tmp_path / "prefect", tmp_path / "prefect-server.log", ServeSettings(port=free_port())
    )
    try:
        yield server
    finally:
        server.stop()


def save_artifact(path: Path) -> None:
    target = os.environ.get("HCP_TEST_ARTIFACTS_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / path.name)


def test_flow_runs_page_shows_the_completed_billing_run(prefect_server: PrefectServer, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.billing import bill_customers

    monkeypatch.setenv("HCP_BILLING_PDF", "false")
    land_scenario(tmp_path / "landing")
    refresh_warehouse(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        result = bill_customers("2023-01", str(tmp_path / "warehouse.duckdb"), str(tmp_path / "billing"), now=NOW)
    assert result["priced"], "the billing run priced no invoice"

    screenshot = tmp_path / "prefect-ui-billing-run.png"
    with chromium_page(width=1500, height=1000) as page:
        page.goto(f"{prefect_server.ui_url}/runs")
        # one list item per flow run: the billing run's own item must carry the Completed badge
        billing_run = page.locator(".flow-run-list-item").filter(has_text="bill-customers")
        billing_run.filter(has_text="Completed").first.wait_for(timeout=90_000)
        page.screenshot(path=str(screenshot))
    save_artifact(screenshot)

    assert screenshot.stat().st_size > 10_000
