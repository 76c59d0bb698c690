"""Security properties of docs/security.md that a test can hold: secrets masked, sizes bounded, SQL read-only."""

from __future__ import annotations

import logging

import duckdb
import pytest
from typer.testing import CliRunner

from hcp.cli import app as cli
from hcp.codec import MAX_MESSAGE_BYTES
from hcp.fleet import load_fleet
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import TELEMETRY_ASIC
from streams.app import create_app
from streams.landing.triage import RawMessage, triage_messages

pytestmark = pytest.mark.component

SECRET = "s3cr3t-do-not-print"
runner = CliRunner()


def test_a_secret_setting_never_appears_in_reprs_dumps_or_logs(monkeypatch, caplog):
    monkeypatch.setenv("HCP_BROKER_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("HCP_BROKER_SASL_USERNAME", "hcp")
    settings = BrokerSettings()
    assert settings.sasl_password.get_secret_value() == SECRET  # it is there for the client that needs it
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("hcp.test").info("settings: %s / %r / %s", settings, settings, settings.model_dump())
    shown = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump()), caplog.text]
    assert not any(SECRET in text for text in shown)


def test_a_bad_setting_error_does_not_echo_a_secret(monkeypatch):
    from hcp.exceptions import ConfigError
    from hcp.settings import load_settings

    monkeypatch.setenv("HCP_BROKER_SASL_PASSWORD", SECRET)
    with pytest.raises(ConfigError) as err:
        load_settings(BrokerSettings, embedded_port=1)
    assert SECRET not in str(err.value)


def test_the_landing_rejects_an_oversize_payload_and_lands_the_rest():
    big = b'{"pad":"' + b"x" * MAX_MESSAGE_BYTES + b'"}'
    long_field = b'{"event_id":"' + b"e" * 10_000 + b'"}'
    triage = triage_messages([
        RawMessage(TELEMETRY_ASIC, 0, 0, b"west-1", big),
        RawMessage(TELEMETRY_ASIC, 0, 1, b"west-1", long_field),
    ])
    reasons = [r.dead_letter.error_message for r in triage.rejected]
    assert triage.landed_count == 0 and len(reasons) == 2
    assert "exceeds" in reasons[0]


def test_the_faust_web_endpoint_binds_loopback_only(tmp_path):
    app = create_app(WorkerSettings(web_enabled=True), BrokerSettings(), StorageSettings(home=tmp_path), load_fleet())
    assert app.conf.web_bind == "127.0.0.1"


@pytest.fixture
def warehouse_home(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create table fct_x as select * from (values ('west-1', 1.5), ('east-1', 2.5)) as t(site_id, mwh)")
    return tmp_path


@pytest.mark.parametrize(
    "statement",
    [
        "create table y (a int)",
        "insert into fct_x values ('z', 0)",
        "drop table fct_x",
        "copy fct_x to '{home}/out.csv'",
        "attach '{home}/other.duckdb' as other",
        "select * from read_csv('/etc/passwd')",
        "set enable_external_access = true",
    ],
)
def test_hcp_sql_refuses_writes_and_file_access(warehouse_home, statement):
    statement = statement.format(home=warehouse_home)  # a file it might write goes to the temp folder
    result = runner.invoke(cli, ["sql", statement, "--home", str(warehouse_home)])
    assert result.exit_code != 0
    assert "query failed" in str(result.exception)
    with duckdb.connect(str(warehouse_home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from fct_x").fetchone()[0] == 2
    assert sorted(p.name for p in warehouse_home.iterdir()) == ["warehouse.duckdb"]


def test_hcp_sql_passes_values_as_parameters_not_as_sql(warehouse_home):
    injected = "west-1' or '1'='1"
    result = runner.invoke(
        cli, ["sql", "select site_id from fct_x where site_id = ?", "-p", injected, "--home", str(warehouse_home)]
    )
    assert result.exit_code == 0, result.output
    assert "east-1" not in result.output
    result = runner.invoke(
        cli, ["sql", "select mwh from fct_x where site_id = ?", "-p", "east-1", "--home", str(warehouse_home)]
    )
    assert "2.5" in result.output


def test_the_metrics_endpoint_binds_loopback_by_default_and_needs_a_token_elsewhere(monkeypatch):
    from hcp.exceptions import ConfigError
    from hcp.observability.settings import MetricsSettings
    from hcp.settings import load_settings

    assert MetricsSettings().host == "127.0.0.1"
    with pytest.raises(ConfigError, match="HCP_METRICS_TOKEN"):
        load_settings(MetricsSettings, host="0.0.0.0")
    monkeypatch.setenv("HCP_METRICS_TOKEN", SECRET)
    exposed = load_settings(MetricsSettings, host="0.0.0.0")
    assert exposed.token.get_secret_value() == SECRET and SECRET not in repr(exposed)
