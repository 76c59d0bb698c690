"""`hcp doctor` names what is wrong and exits non-zero on problems."""

from __future__ import annotations

from typer.testing import CliRunner

from hcp.cli import app
from hcp.doctor import run_checks
from tests.conftest import free_port


def by_name(results) -> dict[str, tuple[str, str]]:
    return {r.name: (r.status, r.detail) for r in results}


def test_doctor_reports_a_missing_broker_a_bad_fleet_file_and_a_bad_setting(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HCP_STORAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HCP_BROKER_EMBEDDED_PORT", str(free_port()))
    monkeypatch.setenv("HCP_FLEET_FILE", str(tmp_path / "nope.yaml"))
    monkeypatch.setenv("HCP_ALERT_GPU_TEMP_MAX_C", "500")
    monkeypatch.setenv("HCP_METRICS_PORT", str(free_port()))
    results = by_name(run_checks())
    assert results["broker"][0] == "fail" and "start `hcp broker`" in results["broker"][1]
    assert results["fleet file"][0] == "fail" and "nope.yaml" in results["fleet file"][1]
    assert results["settings HCP_ALERT_*"][0] == "fail"
    assert "HCP_ALERT_GPU_TEMP_MAX_C" in results["settings HCP_ALERT_*"][1]
    assert results["storage home"][0] == "ok" and results["dbt project"][0] == "ok"
    outcome = CliRunner().invoke(app, ["doctor"])
    assert outcome.exit_code == 1 and "problem(s)" in outcome.output


def test_an_unwritable_storage_home_fails(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("HCP_STORAGE_HOME", str(blocker / "home"))
    assert by_name(run_checks())["storage home"][0] == "fail"


def test_env_example_lists_the_operations_settings() -> None:
    from hcp.alerting import AlertSettings
    from hcp.notify import NotifySettings
    from hcp.observability import MetricsSettings
    from hcp.settings import REPO_ROOT
    from simulators.faults import FaultSettings

    text = (REPO_ROOT / ".env.example").read_text()
    for cls in (AlertSettings, MetricsSettings, NotifySettings, FaultSettings):
        prefix = cls.model_config["env_prefix"]
        for name in cls.model_fields:
            assert f"{prefix}{name.upper()}=" in text, f"{prefix}{name.upper()} missing from .env.example"
