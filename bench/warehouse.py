"""Benchmark: the warehouse transform through dbt, against the same SQL run directly in DuckDB.

Run: `python -m bench.warehouse [--landing FOLDER] [--out results.json]`.

The landing is a demo run's (`make demo` lands in `.hcp/landing`, the default) or any landing folder with its
fleet (`--fleet`). Where the default holds no landing files (a fresh clone), a synthetic month is generated for
it first (`bench.billing_month` at `SYNTHETIC_SCALE` of 1,000 customers and 100,000 devices, with its own fleet),
and the result says so. A `--landing` given explicitly must hold landing files.

Loads the landing files into a fresh DuckDB file (the project's loader), copies it, then:
- `dbt build` on one copy (`warehouse.transform.build_models`: every model and every test);
- on the other copy, the SQL dbt compiled (`manifest.json`: each model's SELECT as the table or view its
  materialization makes, each test's SELECT), dependencies first, through one DuckDB connection: the same
  work without dbt's parsing, graph, adapter and per-node bookkeeping.
The ratio is the orchestration overhead of dbt. Seeds are not re-run: the direct copy takes dbt's seeded tables.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from bench.billing_month import MonthPlan, write_month
from hcp.fleet import Fleet, load_fleet
from hcp.landing import iter_landing_files
from hcp.settings import StorageSettings, WarehouseSettings
from warehouse.limits import WarehouseLimits
from warehouse.loader import load_landing
from warehouse.transform import build_models

SYNTHETIC_SCALE = 0.01
"""Of a month of 1,000 customers and 100,000 devices: the landing generated when there is no demo landing."""


def has_landing_files(landing: Path) -> bool:
    return next(iter_landing_files(landing), None) is not None


def generate_landing(base: Path, progress=print) -> tuple[Path, Fleet, str]:
    """A synthetic month's landing under `base`: (landing folder, its fleet, what it is)."""
    plan = MonthPlan.scaled(1000, 100_000, SYNTHETIC_SCALE, "2023-01", 7)
    month = write_month(plan, base / "synthetic", progress=progress)
    about = f"synthetic month {plan.month}: {plan.customers} customers, {plan.asics} ASICs, {plan.gpus} GPUs"
    return month.landing_dir, load_fleet(month.fleet_file), about


def executed_sql(work_dir: Path) -> list[tuple[str, str]]:
    """(node id, SQL) of every model and test dbt ran, dependencies first (seeds excluded).

    Models: their compiled SELECT wrapped the way their materialization runs it (`create or replace table` or
    `view`); tests: their compiled SELECT, counted as dbt counts failures.
    """
    target = work_dir / "target"
    ran = {r["unique_id"] for r in json.loads((target / "run_results.json").read_text())["results"]}
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    order: list[str] = []
    seen: set[str] = set()

    def visit(unique_id: str) -> None:
        if unique_id in seen or unique_id not in nodes:
            return
        seen.add(unique_id)
        for parent in nodes[unique_id]["depends_on"]["nodes"]:
            visit(parent)
        order.append(unique_id)

    for unique_id in sorted(ran):
        visit(unique_id)
    statements = []
    for unique_id in order:
        node = nodes[unique_id]
        if unique_id not in ran or node["resource_type"] not in ("model", "test") or not node.get("compiled_code"):
            continue
        sql = node["compiled_code"]
        if node["resource_type"] == "model":
            kind = "view" if node["config"]["materialized"] == "view" else "table"
            relation = f'"{node["database"]}"."{node["schema"]}"."{node["alias"]}"'
            sql = f"create or replace {kind} {relation} as (\n{sql}\n)"
        else:
            sql = f"select count(*) from (\n{sql}\n)"
        statements.append((unique_id, sql))
    return statements


def measure(landing: Path | None = None, fleet: Fleet | None = None) -> dict[str, object]:
    """dbt against the same SQL direct on `landing` (None: the demo's, else a synthetic month; see above).

    Raises `FileNotFoundError` when an explicitly given `landing` holds no landing files.
    """
    if landing is None:
        landing = StorageSettings().landing_dir
        synthetic = not has_landing_files(landing)
    elif not has_landing_files(landing):
        raise FileNotFoundError(
            f"no landing files (<topic>/partition=<p>/*.parquet) under {landing}: "
            "give a landing folder a worker or `make demo` wrote, or leave --landing out"
        )
    else:
        synthetic = False
    with tempfile.TemporaryDirectory(prefix="hcp-bench-warehouse-") as home:
        base = Path(home)
        about = f"landing folder {landing}"
        if synthetic:
            landing, fleet, about = generate_landing(base)
        loaded = base / "warehouse.duckdb"
        load_landing(landing, loaded, fleet or load_fleet())
        # the same file name: dbt's SQL names the database (the file's stem) in every relation
        direct = base / "direct" / loaded.name
        direct.parent.mkdir()
        shutil.copy(loaded, direct)

        started = time.perf_counter()
        summary = build_models(WarehouseSettings().dbt_project_dir, loaded, work_dir=base / "dbt")
        dbt_s = time.perf_counter() - started

        statements = executed_sql(base / "dbt")
        # dbt created the schemas and loaded the seeds on its copy; give the direct copy the same starting point
        # the limits dbt ran under (warehouse.transform.build_models' default)
        conn = duckdb.connect(str(direct), config=WarehouseLimits().duckdb_config(direct))
        conn.execute(f"attach '{loaded}' as built (read_only)")
        schemas = conn.execute(
            "select distinct schema_name from information_schema.schemata where catalog_name = 'built'"
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(f'create schema if not exists "{schema}"')
        for schema, table in conn.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'built' "
            "and table_name in (select unnest(?))",
            [[p.stem for p in (WarehouseSettings().dbt_project_dir / "seeds").glob("*.csv")]],
        ).fetchall():
            conn.execute(f'create or replace table "{schema}"."{table}" as select * from built."{schema}"."{table}"')
        conn.execute("detach built")
        started = time.perf_counter()
        failed = []
        for unique_id, sql in statements:
            try:
                conn.execute(sql)
            except duckdb.Error as err:
                failed.append(f"{unique_id}: {str(err).splitlines()[0]}")
        direct_s = time.perf_counter() - started
        conn.close()
    return {
        "landing": about,
        "dbt_nodes": summary.nodes,
        "dbt_build_s": round(dbt_s, 2),
        "direct_sql_statements": len(statements),
        "direct_sql_failed": failed,
        "direct_sql_s": round(direct_s, 2),
        "dbt_overhead_ratio": round(dbt_s / max(direct_s, 1e-9), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--landing", type=Path, help="landing folder to load (default: the demo's, else a synthetic month)"
    )
    parser.add_argument("--fleet", type=Path, help="fleet YAML of that landing (default: the demo fleet)")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    try:
        result = measure(args.landing, load_fleet(args.fleet) if args.fleet else None)
    except FileNotFoundError as err:
        parser.error(str(err))
    print(
        f"dbt build {result['dbt_build_s']} s ({result['dbt_nodes']} nodes); the same "
        f"{result['direct_sql_statements']} statements direct {result['direct_sql_s']} s: "
        f"dbt takes {result['dbt_overhead_ratio']}x"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
