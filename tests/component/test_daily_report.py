"""The daily report over dbt-built marts of a small landed scenario, and the flow that logs its path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.reports import build_daily_report as report_flow
from hcp.fleet import load_fleet
from hcp.reports import build_daily_report, report_path
from hcp.settings import WarehouseSettings
from warehouse.loader import load_landing
from warehouse.transform import build_models

from .conftest import DAY, LandingScenario

pytestmark = pytest.mark.component

REPORT_MARTS = (
    "+fct_site_energy_hourly",
    "+fct_decisions",
    "+fct_device_telemetry_hourly",
    "+fct_site_profitability_daily",
    "+fct_gpu_usage_hourly",
    "+stg_kafka__alerts",
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, landing_scenario: LandingScenario) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("report-home")
    landing_scenario.write(home / "landing")
    load_landing(home / "landing", home / "warehouse.duckdb", load_fleet())
    build_models(WarehouseSettings().dbt_project_dir, home / "warehouse.duckdb", select=REPORT_MARTS)
    yield home / "warehouse.duckdb"


def test_report_is_one_self_contained_html_file_with_a_chart_per_section(warehouse: Path, tmp_path: Path):
    report = build_daily_report(warehouse, tmp_path / "reports", DAY.date())

    html = report.path.read_text()
    assert report.path == report_path(tmp_path / "reports", DAY.date())
    for section in ("energy", "utilisation", "margins", "customers", "alerts"):
        assert f"<section id='{section}'>" in html
    assert report.sections["energy"] and report.sections["margins"] and report.sections["customers"]
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'", html)) >= 4
    assert not re.search(r"""(src|href)=["']?(https?:|/)""", html), "the report must not load anything"
    assert "acme-ai" in html  # the scenario's only GPU customer is among the top customers


def test_sections_without_data_say_why(warehouse: Path, tmp_path: Path):
    report = build_daily_report(warehouse, tmp_path / "reports", DAY.date())

    html = report.path.read_text()
    assert not report.sections["alerts"]
    assert "no data for 2023-01-16" in html
    assert "fct_capacity_plan_hourly is not in the warehouse yet" in html


def test_a_day_without_data_still_renders_every_section(warehouse: Path, tmp_path: Path):
    report = build_daily_report(warehouse, tmp_path / "reports", DAY.date().replace(day=20))

    assert not any(report.sections.values())
    assert report.path.read_text().count("<section id=") == len(report.sections)


def test_report_flow_replaces_the_day_and_logs_the_path_as_an_artifact(prefect_test_server, warehouse, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    first = report_flow(str(warehouse), str(tmp_path / "reports"), DAY.date().isoformat())
    second = report_flow(str(warehouse), str(tmp_path / "reports"), DAY.date().isoformat())

    assert first["path"] == second["path"]
    assert [p.name for p in (tmp_path / "reports").iterdir()] == ["daily-2023-01-16.html"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["daily-report"])))
    assert any(Path(first["path"]).resolve().as_uri() in str(a.data) for a in artifacts)
