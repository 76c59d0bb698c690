"""Fault: the embedded broker restarts (it keeps no data). The platform notices, alerts, recreates and resumes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import polars as pl
import pytest

from hcp.fleet import load_fleet
from hcp.landing import iter_landing_files
from hcp.ledger import check_ledger, read_ledger
from hcp.processes import wait_until_caught_up, wait_until_group_stable
from hcp.settings import SimulatorSettings
from hcp.supervisor import ALERT_RULE, PlatformSupervisor
from hcp.topics import ALERTS, TELEMETRY_ASIC
from simulators.runner import run_simulation

from .conftest import report_figures

pytestmark = [pytest.mark.integration, pytest.mark.fault]


def simulate(platform, run_id, day):
    # Runs on different days: the same day's day-ahead prices and hashprice would be the same events twice.
    sim = SimulatorSettings(start=datetime(2023, 1, day, tzinfo=UTC), hours=0.5, speed=4000, seed=day, ai_burst=False)
    return run_simulation(sim, platform.broker, platform.storage, load_fleet(), run_id=run_id)


def test_broker_restart_is_alerted_and_nothing_lands_twice_or_goes_missing(fault_platform):
    platform = fault_platform
    supervisor = PlatformSupervisor(platform.broker, platform.env, ("all",), platform.storage.run_dir)
    supervisor.start()
    try:
        worker = supervisor.workers["all"]
        wait_until_group_stable(platform.broker, "hcp", worker)
        before = simulate(platform, "before-restart", 16)
        wait_until_caught_up(platform.broker, "hcp", worker, timeout=120)
        first_epoch = supervisor.epoch

        platform.restart_broker()
        restarted = time.monotonic()
        recovery = None
        while recovery is None and time.monotonic() - restarted < 60:
            recovery = supervisor.check()
            time.sleep(0.2)
        assert recovery is not None, "the supervisor did not notice the broker restart"
        assert recovery.new_epoch != first_epoch

        worker = supervisor.workers["all"]
        wait_until_group_stable(platform.broker, "hcp", worker)
        resumed_s = time.monotonic() - restarted
        after = simulate(platform, "after-restart", 18)
        wait_until_caught_up(platform.broker, "hcp", worker, timeout=120)
    finally:
        supervisor.stop()

    reports = [check_ledger(read_ledger(run.ledger_path), platform.storage.landing_dir) for run in (before, after)]
    for report in reports:
        assert (report.lost, report.duplicated, report.altered) == (0, 0, 0), report.by_topic
    # Offsets of the new broker landed after those of the old one, in the same files' numbering.
    files = [f.path for f in iter_landing_files(platform.storage.landing_dir, TELEMETRY_ASIC)]
    offsets = pl.read_parquet(files, columns=["partition", "offset"])
    assert offsets.height == offsets.unique().height
    alerts = pl.read_parquet([f.path for f in iter_landing_files(platform.storage.landing_dir, ALERTS)])
    texts = [v.decode() for v in alerts["value"].to_list()]
    assert any(ALERT_RULE in t and '"firing"' in t for t in texts)
    assert any(ALERT_RULE in t and '"resolved"' in t for t in texts)
    report_figures(
        "broker_restart",
        events_injected=reports[0].produced + reports[1].produced,
        lost=sum(r.lost for r in reports),
        duplicated=sum(r.duplicated for r in reports),
        detect_and_restart_workers_s=round(recovery.recovery_seconds, 1),
        restart_to_group_stable_s=round(resumed_s, 1),
    )
