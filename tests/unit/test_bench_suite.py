"""The benchmark suite's plumbing: importable, documented flags, /proc readings that make sense (no timings)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import __main__ as suite
from bench import warehouse
from bench.procstat import cpu_seconds, own_peak_rss_mib, peak_rss_mib


def test_every_benchmark_of_the_suite_is_listed_with_a_summary():
    assert set(suite.suite(quick=True)) == {
        "throughput",
        "landing",
        "poison",
        "simulator",
        "models",
        "warehouse",
        "latency",
        "billing_scale",
    }
    poison = {"poison_records": 200, "valid_polls": 20_000, "with_poison_valid_per_s": 970, "ratio": 0.97}
    assert suite.summary_lines({"poison": poison}) == [
        "landing with 200 poison among 20,000 polls: 970 valid polls/s = 0.97 x without poison"
    ]
    assert suite.summary_lines({"landing": {"landing_rows_per_s": 10, "ratio": 2.0}}) == [
        "landing 10 rows/s = 2.0 x DuckDB Arrow append"
    ]


def test_cpu_and_memory_of_a_process_come_from_proc():
    pid = os.getpid()
    assert cpu_seconds(pid) > 0
    assert peak_rss_mib(pid) > 10 and own_peak_rss_mib() > 10


def test_the_suite_command_explains_itself():
    result = subprocess.run([sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, check=True)
    assert "--quick" in result.stdout and "throughput" in result.stdout


def test_latency_summary_names_the_offered_load_of_both_latency_benchmarks():
    row = {"p50_ms": 40.0, "p99_ms": 80.0, "p99_9_ms": 90.0}
    runs = {
        "demo_fleet": [
            {"speed": 600.0, "device_readings_per_s": 19480, "tick_to_command": row, "bare_round_trip": row}
        ],
        "under_100k_readings_per_s": [
            {
                "speed": 600.0,
                "telemetry": {"offered_readings_per_s": 100000},
                "tick_to_command": row,
                "bare_round_trip": row,
                "without_telemetry_load": {"tick_to_command": {"p50_ms": 30.0, "p99_ms": 60.0, "p99_9_ms": 70.0}},
            }
        ],
    }
    lines = suite.summary_lines({"latency": runs})
    assert lines[0].startswith(
        "demo_fleet speed 600 (19,480 readings/s offered): tick to command p50/p99/p99.9 40.0/80.0"
    )
    assert lines[1].startswith("under_100k_readings_per_s speed 600 (100,000 readings/s offered)")
    assert lines[1].endswith("; without the load 30.0/60.0/70.0 ms")


def test_the_simulator_fleet_under_load_keeps_sites_and_nodes_with_no_asics_and_a_few_gpus():
    from bench.latency_under_load import sparse_fleet
    from bench.throughput import LARGE_FLEET
    from hcp.fleet import load_fleet

    fleet = load_fleet(LARGE_FLEET)
    sparse = sparse_fleet(fleet)
    assert [(s.site_id, s.node, s.power_cap_mw) for s in sparse.sites] == [
        (s.site_id, s.node, s.power_cap_mw) for s in fleet.sites
    ]
    assert all(s.asics == () for s in sparse.sites)  # the pre-built polls are the only ASIC telemetry
    assert [[(g.model, g.count) for g in s.gpus] for s in sparse.sites] == [[(s.gpus[0].model, 8)] for s in fleet.sites]


def test_a_failed_latency_benchmark_leaves_the_other_summary_lines():
    results = {
        "latency": {"error": "ImportError: boom", "traceback": "..."},
        "landing": {"landing_rows_per_s": 10, "ratio": 2.0},
    }
    assert suite.summary_lines(results) == ["landing 10 rows/s = 2.0 x DuckDB Arrow append"]


def test_the_broker_benchmarks_start_as_the_suite_starts_them():
    """The suite runs them as `python -m bench.<name>`; a module of bench/ must not hide a standard one."""
    for module in ("bench.latency", "bench.throughput", "bench.latency_under_load"):
        result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=False)
        assert result.returncode == 0, (module, result.stderr[-500:])
    assert not Path(suite.__file__).with_name("platform.py").exists()  # hides the stdlib's platform in script mode


def test_tick_latencies_leave_out_the_warm_up_ticks_and_ticks_nothing_answered():
    from bench.latency import Observed

    observed = Observed(
        ticks={("N", "t0"): 0.0, ("N", "t1"): 100.0, ("N", "t2"): 200.0},
        tick_seen={("N", "t0"): 5.0, ("N", "t1"): 108.0, ("N", "t2"): 204.0},
        decisions={("N", "t0"): 900.0, ("N", "t1"): 150.0, ("N", "t2"): 230.0},
        commands={("N", "t2"): 240.0},
    )
    latencies = observed.tick_latencies(warm_up_ticks=1)
    assert latencies["tick_to_decision"]["n"] == 2 and latencies["tick_to_decision"]["max_ms"] == 50.0
    assert latencies["tick_to_command"]["n"] == 1 and latencies["tick_to_command"]["p50_ms"] == 40.0
    assert latencies["tick_to_other_reader"]["max_ms"] == 8.0


def test_the_ticks_of_the_run_without_load_and_of_the_run_under_load_are_told_apart_by_interval():
    from datetime import UTC, datetime

    from bench.latency import Observed
    from bench.latency_under_load import ticks_before

    quiet, loaded = "2023-01-16T07:55:00+00:00", "2023-01-16T08:05:00+00:00"
    observed = Observed(
        ticks={("N", quiet): 0.0, ("N", loaded): 100.0},
        tick_seen={("N", quiet): 5.0, ("N", loaded): 109.0},
        decisions={("N", quiet): 40.0, ("N", loaded): 190.0},
        commands={("N", loaded): 195.0},
    )
    split = datetime(2023, 1, 16, 8, tzinfo=UTC)
    before, after = ticks_before(observed, split), ticks_before(observed, split, before=False)
    assert before.tick_latencies(0)["tick_to_decision"]["p50_ms"] == 40.0
    assert after.tick_latencies(0)["tick_to_decision"]["p50_ms"] == 90.0
    assert before.commands == {} and list(after.commands) == [("N", loaded)]


def test_the_warehouse_benchmark_refuses_a_landing_folder_without_landing_files(tmp_path):
    (tmp_path / "telemetry.asic" / "partition=0").mkdir(parents=True)  # a folder, but no landed file in it
    with pytest.raises(FileNotFoundError, match="no landing files"):
        warehouse.measure(tmp_path)


def test_a_child_reports_its_own_peak_memory_not_that_of_the_larger_parent_that_started_it():
    ballast = bytearray(400 * 1024 * 1024)  # touched: 400 MiB resident in this process
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])
    child = subprocess.run(
        [sys.executable, "-c", "from bench.procstat import own_peak_rss_mib; print(own_peak_rss_mib())"],
        capture_output=True, text=True, check=True,
    )
    assert own_peak_rss_mib() > 400
    assert float(child.stdout) < 200, child.stdout  # getrusage's ru_maxrss said about this process's 400+ MiB
    del ballast
