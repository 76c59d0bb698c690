"""The benchmark suite's plumbing: importable, documented flags, /proc readings that make sense (no timings)."""

import os
import subprocess
import sys

from bench import __main__ as suite
from bench.procstat import cpu_seconds, own_peak_rss_mib, peak_rss_mib


def test_every_benchmark_of_the_suite_is_listed_with_a_summary():
    assert set(suite.suite(quick=True)) == {
        "throughput", "landing", "poison", "simulator", "models", "warehouse", "latency", "billing_scale"
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
