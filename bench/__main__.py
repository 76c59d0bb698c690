"""The whole benchmark suite in one command: `python -m bench [--quick] [--only NAME,...]` (or `make bench`).

Runs each benchmark (each measures its figure beside its baseline in the same run), prints one summary line
per figure as a ratio, and writes everything to `bench/results/<UTC date and time>.json` (or `--out`), with
the machine it ran on and the load average before and after (other work on the machine moves every figure).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import billing_scale, landing, models, poison, simulator, throughput, warehouse
from bench.procstat import own_peak_rss_mib

RESULTS_DIR = Path(__file__).with_name("results")


def latency(quick: bool) -> dict[str, object]:
    """bench/latency.py (demo fleet, demo load and 5x) and bench/latency_under_load.py (demo load while one ingest
    worker takes the large fleet's 100,000 readings a second), each in a child process (each starts its own broker
    and workers)."""
    runs = {}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        flags = ["--speeds", "600,3000", "--hours", "3" if quick else "6"]
        subprocess.run([sys.executable, "-m", "bench.latency", *flags, "--out", out.name], check=True, timeout=1800)
        runs["demo_fleet"] = json.loads(Path(out.name).read_text())["runs"]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        flags = ["--hours", "3" if quick else "8", "--out", out.name]
        subprocess.run([sys.executable, "-m", "bench.latency_under_load", *flags], check=True, timeout=1800)
        runs["under_100k_readings_per_s"] = [json.loads(Path(out.name).read_text())]
    return runs


def suite(quick: bool) -> dict[str, Callable[[], object]]:
    return {
        "throughput": lambda: throughput.measure(throughput.LARGE_FLEET, 2 if quick else 5, paced=not quick),
        "landing": lambda: landing.measure(10 if quick else 20, 2000),
        "poison": lambda: poison.measure(5_000 if quick else 20_000, repeats=3 if quick else 7),
        "simulator": lambda: simulator.measure(simulator.LARGE_FLEET, 2, 5.0, 5.0),
        "models": lambda: models.measure(50_000 if quick else 100_000, 50 if quick else 100, 2 if quick else 5),
        "warehouse": lambda: warehouse.measure(),
        "latency": lambda: latency(quick),
        # the full month (scale 1) takes far longer than the suite allows here: docs/benchmarks.md
        "billing_scale": lambda: billing_scale.measure(
            1000, 100_000, "2023-01", 0.01 if quick else billing_scale.SUITE_SCALE
        ),
    }


def summary_lines(results: dict[str, object]) -> list[str]:
    lines = []
    if isinstance(t := results.get("throughput"), dict):
        w = t["ingest_worker"]
        lines.append(
            f"ingest worker {w['readings_per_cpu_s']:,} readings/CPU-s = {t['ratio_vs_aiokafka']} x bare aiokafka, "
            f"{t['ratio_vs_confluent_kafka']} x bare confluent-kafka (peak {w['peak_rss_mib']} MiB)"
        )
        if paced := t.get("ingest_worker_paced"):
            lines.append(
                f"ingest worker at {paced['offered_readings_per_s']:,} readings/s offered: busy {paced['busy']:.0%} "
                f"of a core, committed {paced['catch_up_s']} s after the last poll"
            )
    if isinstance(land := results.get("landing"), dict):
        lines.append(f"landing {land['landing_rows_per_s']:,} rows/s = {land['ratio']} x DuckDB Arrow append")
    if isinstance(bad := results.get("poison"), dict):
        lines.append(
            f"landing with {bad['poison_records']:,} poison among {bad['valid_polls']:,} polls: "
            f"{bad['with_poison_valid_per_s']:,} valid polls/s = {bad['ratio']} x without poison"
        )
    if isinstance(sim := results.get("simulator"), dict):
        lines.append(f"simulator {sim['readings_per_cpu_s']:,} readings/CPU-s = {sim['ratio_to_need']} x the need")
    if isinstance(m := results.get("models"), dict):
        lines.append(
            f"LightGBM {m['lightgbm']['train_classifier_rows_x_trees_per_s']:,} rows x trees/s "
            f"({m['lightgbm']['ratio']} x bare); Prophet {m['prophet']['train_demand_fits_per_s']} fits/s "
            f"({m['prophet']['ratio']} x bare)"
        )
    if isinstance(wh := results.get("warehouse"), dict):
        lines.append(
            f"dbt build {wh['dbt_build_s']} s = {wh['dbt_overhead_ratio']} x the same SQL direct ({wh['landing']})"
        )
    if isinstance(bill := results.get("billing_scale"), dict) and "prefect" in bill:
        p = bill["prefect"]
        lines.append(
            f"billing month at scale {bill['plan']['scale']}: warehouse flow {p['warehouse_s']} s = "
            f"{bill['warehouse_ratio']} x direct; billing flow {p['billing_s']} s = {bill['billing_ratio']} x direct; "
            f"invoices match the priced usage: {bill['invoices_match_priced_usage']}"
        )
    if isinstance(lat := results.get("latency"), dict) and "error" not in lat:
        for name, runs in lat.items():
            for run in runs:
                c, b = run["tick_to_command"], run["bare_round_trip"]
                offered = run.get("device_readings_per_s") or run.get("telemetry", {}).get("offered_readings_per_s")
                lines.append(
                    f"{name} speed {run['speed']:g} ({offered or 0:,} readings/s offered): "
                    f"tick to command p50/p99/p99.9 {c.get('p50_ms')}/{c.get('p99_ms')}/{c.get('p99_9_ms')} ms; "
                    f"bare round trip {b.get('p50_ms')}/{b.get('p99_ms')}/{b.get('p99_9_ms')} ms"
                )
                if quiet := run.get("without_telemetry_load"):
                    q = quiet["tick_to_command"]
                    lines[-1] += f"; without the load {q.get('p50_ms')}/{q.get('p99_ms')}/{q.get('p99_9_ms')} ms"
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a few minutes), for a smoke check")
    parser.add_argument("--only", help="comma-separated subset of: " + ",".join(suite(quick=False)))
    parser.add_argument("--out", type=Path, help="results file (default bench/results/<date>.json)")
    args = parser.parse_args()
    plan = suite(args.quick)
    chosen = args.only.split(",") if args.only else list(plan)
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "load_average_before": os.getloadavg(),
    }
    for name in chosen:
        started = time.perf_counter()
        print(f"running {name}...", flush=True)
        try:
            results[name] = plan[name]()
        except Exception as err:  # one failed benchmark must not lose the others' figures
            results[name] = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        print(f"  {name} took {time.perf_counter() - started:.0f} s", flush=True)
    results["load_average_after"] = os.getloadavg()
    results["bench_peak_rss_mib"] = own_peak_rss_mib()
    try:
        results["summary"] = summary_lines(results)
    except Exception as err:  # a summary bug must not lose the figures: they are written below regardless
        results["summary"] = [f"summary failed: {type(err).__name__}: {err}"]
    out = args.out or RESULTS_DIR / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n".join(results["summary"]))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
