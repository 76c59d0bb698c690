import importlib
import pkgutil

import pytest
from typer.testing import CliRunner

from hcp.cli import app

runner = CliRunner()

COMMANDS = [
    [], ["broker"], ["topics"], ["topics", "create"], ["topics", "list"], ["simulate"], ["worker"], ["flows"],
    ["flows", "run"], ["flows", "run", "warehouse"], ["demo"], ["sql"], ["ledger-check"], ["schemas"],
    ["schemas", "export"], ["backtest"], ["route-replay"],
    ["dead-letters"], ["dead-letters", "list"], ["dead-letters", "replay"], ["supervise"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "hcp")
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("command", [["simulate"], ["demo"], ["worker"]])
def test_options_name_their_environment_variable(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert "HCP_" in result.output


def test_sql_without_a_warehouse_says_what_to_run(tmp_path):
    result = runner.invoke(app, ["sql", "select 1", "--home", str(tmp_path)])
    assert result.exit_code != 0
    assert "hcp demo" in str(result.exception)


@pytest.mark.parametrize("package", ["hcp", "simulators", "streams", "warehouse", "flows"])
def test_every_module_imports(package):
    # faust's autodiscovery would swallow import errors; importing every module here surfaces them.
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
