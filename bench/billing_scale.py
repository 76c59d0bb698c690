"""Benchmark: the warehouse and billing flows on a month of 1,000 customers x 100,000 devices, through Prefect,
against the same work without orchestration (issue 8).

Run: `python -m bench.billing_scale [--customers 1000] [--devices 100000] [--month 2023-01] [--scale F]
[--out results.json]`.

1. Generates the month (`bench.billing_month`: landing files, fleet YAML, rate cards; what it holds is in its
   docstring and in docs/benchmarks.md) in a temporary folder.
2. In a child process, with a temporary Prefect server (`prefect_test_harness`): `build_warehouse` (load + dbt
   build) then `bill_customers` for the month, as they run in production (PDF printing off: see the docs).
3. In another child process, the same work without orchestration: the loader, the SQL dbt compiled for that run
   (`bench.warehouse.executed_sql`, seeds taken from the first run as there), then the billing flow's task
   functions called directly (`.fn`), with the invoice marts as compiled SQL too.
Each child reports wall seconds and its own peak RSS; the ratios are Prefect path over direct path. The invoices
of both paths must equal the generated usage priced by the rate cards (checked, not assumed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from bench.billing_month import MonthPlan, write_month
from bench.procstat import own_peak_rss_mib
from hcp.billing.invoices import in_period
from hcp.billing.periods import period_from_id
from hcp.billing.pricing import price_period
from hcp.billing.ratecards import load_rate_cards
from warehouse.limits import WarehouseLimits

SUITE_SCALE = 0.02
"""The suite's scale (`python -m bench --only billing_scale`): the full month takes far over 10 minutes here."""


def expected_totals(usage: pl.DataFrame, credits: pl.DataFrame, rate_cards_file: Path, month: str) -> dict[str, int]:
    """Each customer's invoice total in cents: the generated usage and credits of the month, priced by its card."""
    period, book = period_from_id(month), load_rate_cards(rate_cards_file)
    usage, credits = in_period(usage, "hour_start", period), in_period(credits, "decided_at", period)
    totals = {}
    for card in book.rate_cards:
        mine = usage.filter(pl.col("customer_id") == card.customer_id)
        kinds = credits.filter(pl.col("customer_id") == card.customer_id)["credit_kind"].to_list()
        totals[card.customer_id] = sum(line.amount_cents for line in price_period(mine, kinds, card))
    return totals


def _child(phase: str, base: Path, month: str) -> dict:
    out = base / f"{phase}.json"
    env = {**os.environ, "HCP_BILLING_PDF": "false", "PREFECT_HOME": str(base / "prefect-home")}
    subprocess.run(
        [sys.executable, "-m", "bench.billing_scale", "--phase", phase, "--base", str(base), "--month", month],
        check=True,
        env=env,
    )
    return json.loads(out.read_text())


def _home(base: Path, name: str) -> Path:
    home = base / name
    home.mkdir(exist_ok=True)
    if not (home / "landing").exists():
        (home / "landing").symlink_to(base / "landing", target_is_directory=True)
    return home


def run_prefect_phase(base: Path, month: str) -> dict:
    """The flows as production runs them, on a temporary Prefect server; saves the SQL dbt ran for the direct run."""
    from prefect.testing.utilities import prefect_test_harness

    from bench.warehouse import executed_sql
    from flows.billing import bill_customers
    from flows.warehouse import build_warehouse
    from warehouse.transform import dbt_work_dir

    home = _home(base, "prefect")
    warehouse = home / "warehouse.duckdb"
    now = period_from_id(month).end + timedelta(days=3)
    with prefect_test_harness(server_startup_timeout=120):
        print("  prefect: build_warehouse...", flush=True)
        started = time.perf_counter()
        built = build_warehouse(str(home / "landing"), str(warehouse), str(base / "fleet.yaml"))
        warehouse_s = time.perf_counter() - started
        (base / "warehouse_sql.json").write_text(json.dumps(executed_sql(dbt_work_dir(warehouse))))
        print(f"  prefect: build_warehouse {warehouse_s:.1f} s; bill_customers...", flush=True)
        started = time.perf_counter()
        billed = bill_customers(
            period_id=month,
            warehouse_path=str(warehouse),
            billing_dir=str(home / "billing"),
            rate_cards_file=str(base / "rate_cards.yaml"),
            now=now,
        )
        billing_s = time.perf_counter() - started
        (base / "billing_sql.json").write_text(json.dumps(executed_sql(dbt_work_dir(warehouse))))
    print(f"  prefect: bill_customers {billing_s:.1f} s", flush=True)
    return {
        "warehouse_s": round(warehouse_s, 2),
        "billing_s": round(billing_s, 2),
        "peak_rss_mib": own_peak_rss_mib(),
        "dbt_nodes": built["dbt"]["nodes"],
        "rows_inserted": built["load"]["rows_inserted"],
        "row_counts": built["row_counts"],
        "invoice_totals": billed["priced"],
        "reconciliation_ok": billed["reconciliation"]["ok"],
    }


def _limits() -> WarehouseLimits:
    """The DuckDB limits the flows run under (HCP_WAREHOUSE_MEMORY_LIMIT, ...): the direct path takes the same."""
    from hcp.settings import WarehouseSettings, load_settings

    return WarehouseLimits.from_settings(load_settings(WarehouseSettings))


def _run_statements(warehouse: Path, statements: list[list[str]]) -> list[str]:
    import duckdb

    conn = duckdb.connect(str(warehouse), config=_limits().duckdb_config(warehouse))
    failed = []
    try:
        for unique_id, sql in statements:
            try:
                conn.execute(sql)
            except duckdb.Error as err:
                failed.append(f"{unique_id}: {str(err).splitlines()[0]}")
    finally:
        conn.close()
    return failed


def _copy_seeds(built: Path, warehouse: Path) -> None:
    """dbt's schemas and seeded tables from the Prefect run's warehouse (what bench.warehouse does too)."""
    import duckdb

    from hcp.settings import WarehouseSettings

    seeds = [p.stem for p in (WarehouseSettings().dbt_project_dir / "seeds").glob("*.csv")]
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute(f"attach '{built}' as built (read_only)")
        for (schema,) in conn.execute(
            "select distinct schema_name from information_schema.schemata where catalog_name = 'built'"
        ).fetchall():
            conn.execute(f'create schema if not exists "{schema}"')
        for schema, table in conn.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'built' "
            "and table_name in (select unnest(?))",
            [seeds],
        ).fetchall():
            conn.execute(f'create or replace table "{schema}"."{table}" as select * from built."{schema}"."{table}"')
        conn.execute("detach built")
    finally:
        conn.close()


def run_direct_phase(base: Path, month: str) -> dict:
    """The same work without Prefect or dbt: loader, compiled SQL, the billing tasks' functions."""
    from flows.billing import (
        extract_billing_inputs,
        price_invoices,
        reconcile_meters,
        render_invoices,
        store_priced_invoices,
    )
    from flows.quality import default_quality_dir, validate_landed_batches
    from hcp.fleet import load_fleet
    from hcp.quality import require_passed
    from warehouse.loader import load_landing

    home = _home(base, "direct")
    warehouse, billing = home / "warehouse.duckdb", home / "billing"
    now = period_from_id(month).end + timedelta(days=3)
    print("  direct: load + compiled dbt SQL...", flush=True)
    started = time.perf_counter()
    load_landing(home / "landing", warehouse, load_fleet(base / "fleet.yaml"), _limits())
    load_s = time.perf_counter() - started
    _copy_seeds(base / "prefect" / "warehouse.duckdb", warehouse)  # untimed, as in bench.warehouse
    started = time.perf_counter()
    failed = _run_statements(warehouse, json.loads((base / "warehouse_sql.json").read_text()))
    warehouse_s = load_s + time.perf_counter() - started
    print(f"  direct: warehouse {warehouse_s:.1f} s; billing...", flush=True)
    rates, work = str(base / "rate_cards.yaml"), str(billing / "work" / month)
    steps: dict[str, float] = {}
    started = last = time.perf_counter()

    def step(name: str) -> None:
        nonlocal last
        now_s = time.perf_counter()
        steps[name], last = round(now_s - last, 2), now_s

    quality_dir = default_quality_dir(str(warehouse))
    require_passed(validate_landed_batches.fn(str(home / "landing"), str(warehouse), quality_dir))
    step("quality_gate")
    inputs = extract_billing_inputs.fn(str(warehouse), month, work)
    step("extract")
    priced = price_invoices.fn(inputs, rates, month, work)
    step("price")
    store_priced_invoices.fn(str(warehouse), priced, True, now, **_limits().task_parameters())
    step("store")
    failed += _run_statements(warehouse, json.loads((base / "billing_sql.json").read_text()))
    step("invoice_marts_sql")
    render_invoices.fn(str(warehouse), month, rates, str(billing / "invoices" / month))
    step("render")
    reconciled = reconcile_meters.fn(inputs, rates, month, str(billing / "reconciliation"))
    step("reconcile")
    billing_s = time.perf_counter() - started
    print(f"  direct: billing {billing_s:.1f} s {steps}", flush=True)
    return {
        "load_s": round(load_s, 2),
        "warehouse_s": round(warehouse_s, 2),
        "billing_s": round(billing_s, 2),
        "billing_steps_s": steps,
        "peak_rss_mib": own_peak_rss_mib(),
        "sql_failed": failed,
        "invoice_totals": priced["priced"],
        "reconciliation_ok": reconciled["ok"],
    }


def measure(customers: int, devices: int, month: str, scale: float, seed: int = 7) -> dict[str, object]:
    plan = MonthPlan.scaled(customers, devices, scale, month, seed)
    with tempfile.TemporaryDirectory(prefix="hcp-bench-billing-") as tmp:
        base = Path(tmp)
        print(f"generating {plan} ({plan.sites} sites)...", flush=True)
        started = time.perf_counter()
        generated = write_month(plan, base, progress=lambda line: print(line, flush=True))
        generate_s = time.perf_counter() - started
        landed_mib = sum(p.stat().st_size for p in (base / "landing").rglob("*.parquet")) / 2**20
        print(f"generated in {generate_s:.0f} s ({landed_mib:,.0f} MiB of Parquet); Prefect run...", flush=True)
        prefect = _child("prefect", base, month)
        direct = _child("direct", base, month)
        expected = expected_totals(generated.usage, generated.credits, generated.rate_cards_file, month)
    billed = {inv.rsplit(f"INV-{month}-", 1)[-1]: cents for inv, cents in prefect["invoice_totals"].items()}
    direct_billed = {inv.rsplit(f"INV-{month}-", 1)[-1]: cents for inv, cents in direct["invoice_totals"].items()}
    return {
        "plan": {
            "customers": plan.customers,
            "asics": plan.asics,
            "gpus": plan.gpus,
            "sites": plan.sites,
            "month": month,
            "hours": plan.hours,
            "scale": scale,
            "seed": seed,
        },
        "generate_s": round(generate_s, 1),
        "landed_parquet_mib": round(landed_mib, 1),
        "messages": generated.rows,
        "readings": generated.readings,
        "ground_truth_usage_rows": generated.usage.height,
        "prefect": prefect,
        "direct": direct,
        "warehouse_ratio": round(prefect["warehouse_s"] / max(direct["warehouse_s"], 1e-9), 2),
        "billing_ratio": round(prefect["billing_s"] / max(direct["billing_s"], 1e-9), 2),
        "invoices": len(billed),
        "invoices_total_usd": round(sum(billed.values()) / 100, 2),
        "invoices_match_priced_usage": billed == expected and direct_billed == expected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000, help="customers of the full month")
    parser.add_argument("--devices", type=int, default=100_000, help="devices of the full month (90 %% ASICs)")
    parser.add_argument("--month", default="2023-01", help="the month to generate and bill, YYYY-MM")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink customers and devices (0.01: quick form)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generator")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    parser.add_argument("--phase", choices=("prefect", "direct"), help=argparse.SUPPRESS)
    parser.add_argument("--base", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run = run_prefect_phase if args.phase == "prefect" else run_direct_phase
        (args.base / f"{args.phase}.json").write_text(json.dumps(run(args.base, args.month), default=str))
        return
    load_before = os.getloadavg()
    result = measure(args.customers, args.devices, args.month, args.scale, args.seed)
    result |= {"load_average_before": load_before, "load_average_after": os.getloadavg()}
    p, d = result["prefect"], result["direct"]
    print(
        f"warehouse: Prefect {p['warehouse_s']} s, direct {d['warehouse_s']} s ({result['warehouse_ratio']}x); "
        f"billing: Prefect {p['billing_s']} s, direct {d['billing_s']} s ({result['billing_ratio']}x); "
        f"peak RSS {p['peak_rss_mib']} / {d['peak_rss_mib']} MiB; {result['invoices']} invoices, "
        f"{result['invoices_total_usd']:,} USD, match the priced usage: {result['invoices_match_priced_usage']}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
