"""`hcp demo` as a user runs it, shortened: a real broker, worker, simulators, Prefect flow and dbt."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.integration

# A busy machine can take longer than Prefect's default (20 s) to start its temporary server for a flow run.
_SLOW_PREFECT_START = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


def test_demo_runs_end_to_end_and_prints_where_the_warehouse_is(tmp_path):
    home = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "hcp", "demo", "--hours", "2", "--speed", "3000", "--home", str(home),
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=600, env={**_clean_env(), "COLUMNS": "200", **_SLOW_PREFECT_START},
    )
    print(result.stdout[-4000:], result.stderr[-4000:])
    assert result.returncode == 0
    assert "DuckDB warehouse" in result.stdout
    assert "0 / 0 / 0" in result.stdout  # ledger: lost / duplicated / altered
    assert "AI jobs placed" in result.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.fct_site_energy_hourly").fetchall()[0][0] > 0
        assert con.execute("select count(*) from main.fct_decisions").fetchall()[0][0] > 0
    _check_billing_after_the_demo(home)


def _check_billing_after_the_demo(home):
    """`hcp flows run billing` after the demo: an invoice per demo customer, each total the sum of its priced
    lines, every warehouse GPU-hour invoiced, and the stream meter reconciled with the warehouse to the cent."""
    from hcp.billing.ratecards import load_rate_cards

    result = subprocess.run(
        [sys.executable, "-m", "hcp", "flows", "run", "billing", "--home", str(home)],
        capture_output=True, text=True, timeout=600,
        env={**_clean_env(), "COLUMNS": "200", "HCP_BILLING_PDF": "false", **_SLOW_PREFECT_START},
    )
    print(result.stdout[-4000:], result.stderr[-4000:])
    assert result.returncode == 0  # 1 would mean the reconciliation found a difference
    assert "difference 0.00 USD" in result.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        invoices = con.execute("select customer_id, total_cents, lines_total_cents from main.fct_invoices").fetchall()
        [(usage_hours, invoiced_hours, metered_hours)] = con.execute(
            "select (select sum(gpu_hours) from main.fct_gpu_usage_hourly), "
            "(select sum(usage_gpu_hours) from main.fct_invoices), "
            "(select sum(gpu_hours) from main.fct_metered_usage_hourly)"
        ).fetchall()
    assert {customer for customer, _, _ in invoices} == {c.customer_id for c in load_rate_cards().rate_cards}
    assert all(total == lines for _, total, lines in invoices)
    assert usage_hours > 0
    assert float(invoiced_hours) == pytest.approx(usage_hours, abs=1e-3)
    assert metered_hours == pytest.approx(usage_hours)


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
