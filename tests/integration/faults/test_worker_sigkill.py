"""Fault: the worker is killed with SIGKILL at seeded random moments while the simulators publish.

Whatever was landed but not committed is delivered again after the restart and skipped by offset; whatever was
consumed but not landed was not committed and is delivered again. The ledger must find nothing lost and nothing
twice. Short form: one seed, two kills; `HCP_FAULT_RUNS=20` runs twenty seeds.

The kills start once the stream meter has billed usage (usage is flowing), and the end of the run is when every
produced event has landed, not when the group's committed offsets reach the end: those were seen to stop short
after a restart with everything landed (docs/commit-stalls.md, tested by `test_poison_commits.py`); whether
they caught up is reported as a figure.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hcp.exceptions import BrokerError
from hcp.fleet import load_fleet
from hcp.landing import iter_landing_files
from hcp.ledger import check_ledger, read_ledger
from hcp.processes import stop_process, wait_until_caught_up, wait_until_group_stable
from hcp.reconciliation import check_billed_usage
from hcp.settings import SimulatorSettings
from hcp.topics import BILLING_USAGE
from simulators.runner import run_simulation

from .conftest import fault_runs, report_figures, show_log_on_failure, start_worker
from .traffic import wait_until_every_event_landed

pytestmark = [pytest.mark.integration, pytest.mark.fault]

KILLS = 2


def seconds_until_landing_resumes(root: Path, since: float, timeout: float = 120.0) -> float:
    """Seconds from `since` (a kill) until a landing file newer than it appears: the new worker is landing."""
    while time.time() - since < timeout:
        if any(f.path.stat().st_mtime > since for f in iter_landing_files(root)):
            return time.time() - since
        time.sleep(0.2)
    raise AssertionError(f"nothing landed within {timeout:.0f} s of the restart")


def wait_until_usage_is_billed(root: Path, timeout: float = 120.0) -> None:
    """Return once the stream meter's first billed usage has landed: GPU usage is flowing through the worker."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if next(iter_landing_files(root, BILLING_USAGE), None) is not None:
            return
        time.sleep(0.2)
    raise AssertionError(f"no billed usage landed within {timeout:.0f} s: the kills would not interrupt usage")


@pytest.mark.parametrize("seed", range(1, fault_runs(1) + 1))
def test_sigkilled_worker_loses_and_duplicates_nothing(fault_platform, seed):
    platform = fault_platform
    rng = random.Random(seed)
    worker = start_worker(platform, "worker-0")
    wait_until_group_stable(platform.broker, "hcp", worker)
    # 54 s of flow: both kills (after ~3 s, then restarts of 13-38 s and pauses up to 6 s) land mid-flow.
    sim = SimulatorSettings(start=datetime(2023, 1, 16, 19, tzinfo=UTC), hours=6, speed=400, seed=seed)
    result: dict[str, object] = {}
    publisher = threading.Thread(
        target=lambda: result.update(summary=run_simulation(
            sim, platform.broker, platform.storage, load_fleet(), run_id=f"sigkill-{seed}")),
    )
    publisher.start()
    recoveries = []
    kills_while_publishing = 0
    commits_caught_up = False
    try:
        wait_until_usage_is_billed(platform.storage.landing_dir)
        for kill in range(1, KILLS + 1):
            time.sleep(rng.uniform(0.5, 6.0))
            kills_while_publishing += publisher.is_alive()
            worker.kill()
            worker.wait()
            killed = time.time()
            worker = start_worker(platform, f"worker-{kill}")
            if publisher.is_alive():  # after the flow, a worker with nothing left to do lands nothing new
                recoveries.append(seconds_until_landing_resumes(platform.storage.landing_dir, killed))
        publisher.join(timeout=300)
        assert "summary" in result, "the simulation did not finish"
        wait_until_every_event_landed(result["summary"].ledger_path, platform.storage.landing_dir)
        try:
            wait_until_caught_up(platform.broker, "hcp", worker, timeout=20)
            commits_caught_up = True
        except BrokerError:
            pass  # a known commit stall (docs/commit-stalls.md): reported below, not what this test asserts
    except BaseException:
        show_log_on_failure(platform, f"worker-{KILLS}")
        raise
    finally:
        stop_process(worker)

    ledger = read_ledger(result["summary"].ledger_path)
    report = check_ledger(ledger, platform.storage.landing_dir)
    billed = check_billed_usage(ledger, platform.storage.landing_dir)
    report_figures(
        "worker_sigkill",
        seed=seed,
        kills=KILLS,
        kills_while_publishing=kills_while_publishing,
        events_injected=report.produced,
        lost=report.lost,
        duplicated=report.duplicated,
        altered=report.altered,
        kill_to_landing_again_s=[round(r, 1) for r in recoveries],
        commits_caught_up=commits_caught_up,
        gpu_polls_with_usage=billed.polls_with_usage,
        gpu_seconds_expected=round(billed.expected_gpu_seconds, 3),
        gpu_seconds_billed=round(billed.billed_gpu_seconds, 3),
    )
    assert (report.lost, report.duplicated, report.altered) == (0, 0, 0), report.by_topic
    assert kills_while_publishing > 0, "no kill interrupted the flow: the run proves nothing"
    assert billed.polls_with_usage > 0
    assert billed.ok, billed
