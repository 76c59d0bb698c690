"""`hcp demo` as a user runs it, shortened: a real broker, worker, simulators, Prefect flow and dbt."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration


def test_demo_runs_end_to_end_and_prints_where_the_warehouse_is(tmp_path):
    home = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "hcp", "demo", "--hours", "2", "--speed", "3000", "--home", str(home),
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=600, env={**_clean_env(), "COLUMNS": "200"},
    )
    print(result.stdout[-4000:], result.stderr[-4000:])
    assert result.returncode == 0
    assert "DuckDB warehouse" in result.stdout
    assert "0 / 0 / 0" in result.stdout  # ledger: lost / duplicated / altered
    assert "AI jobs placed" in result.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.fct_site_energy_hourly").fetchall()[0][0] > 0
        assert con.execute("select count(*) from main.fct_decisions").fetchall()[0][0] > 0


def test_demo_refuses_a_bad_flag_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "hcp", "demo", "--speed", "-1", "--home", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env=_clean_env(),
    )
    assert result.returncode == 2
    assert "HCP_SIM_SPEED" in result.stderr


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("HCP_", "PREFECT_"))}
