"""`HCP_WORKER_NICE`: an ingest worker that shares cores with a control worker yields the CPU to it."""

from __future__ import annotations

import os

from hcp.processes import start_worker_process, stop_process, wait_until_group_stable
from hcp.settings import WorkerSettings


def test_an_ingest_worker_runs_at_the_niceness_it_is_given_and_the_control_worker_at_its_own(platform):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    run_dir = platform.storage.run_dir
    ingest = start_worker_process({**platform.env, "HCP_WORKER_NICE": "7"}, run_dir / "ingest.log", role="ingest")
    control = start_worker_process(platform.env, run_dir / "control.log", role="control")
    try:
        wait_until_group_stable(platform.broker, WorkerSettings(role="ingest").group_id, ingest)
        wait_until_group_stable(platform.broker, WorkerSettings(role="control").group_id, control)
        assert os.getpriority(os.PRIO_PROCESS, ingest.pid) == min(base + 7, 19)
        assert os.getpriority(os.PRIO_PROCESS, control.pid) == base
    finally:
        for process in (control, ingest):
            stop_process(process)
