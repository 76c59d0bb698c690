"""`hcp backfill` flags: documented, and a bad date says how to write one."""

import pytest
from typer.testing import CliRunner

from hcp.cli import app
from hcp.exceptions import ConfigError

runner = CliRunner()


def test_backfill_help_names_its_runner_variable():
    result = runner.invoke(app, ["backfill", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "HCP_BACKFILL_RUNNER" in result.output and "--from" in result.output


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("2023-13-01", "2023-01-17", "YYYY-MM-DD"), ("2023-01-17", "2023-01-16", "must be after")],
)
def test_backfill_refuses_bad_dates_with_a_clear_message(tmp_path, start, end, message):
    result = runner.invoke(app, ["backfill", "--from", start, "--to", end, "--home", str(tmp_path)])
    assert isinstance(result.exception, ConfigError)
    assert message in str(result.exception)


def test_backfill_package_imports_without_running_anything():
    import backfill.pipeline

    assert backfill.pipeline.SITE_ENERGY_HOURLY_SCHEMA.names[0] == "site_hour_id"
