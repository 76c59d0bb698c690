"""Benchmark: the site controller's router snapshot (written to the `site_control` table after each message that
changes a site's jobs), against the work of handling the request itself.

Run: `python bench/router_snapshot.py [--running 320] [--queued 200] [--repeat 50]`. The demo fleet's west-1
(320 H100s, the largest router) filled with 1-GPU jobs; prints the snapshot's JSON size, the time to take and
serialise it, the time to restore it, and the time `SiteController.on_request` takes for a request that queues,
with the snapshot and (the baseline, same run) with snapshots switched off.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hcp.fleet import load_fleet
from hcp.records import WorkloadRequest
from streams.power.controller import ControlOutput, SiteController
from streams.power.jobs import SiteJobs

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)


def request(index: int, at: datetime) -> WorkloadRequest:
    return WorkloadRequest(
        event_id=f"req:{index}", event_time=at, job_id=f"job-{index:06d}", customer_id="acme", gpu_type="H100",
        gpu_count=1, priority=index % 10, qos_class="BE", preemptible=True, expected_duration_s=86_400.0,
    )


def timed(call, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class WithoutSnapshots(SiteController):
    """The baseline: a controller that never adds its routers' state to its outputs."""

    def _snapshot_jobs(self, out: ControlOutput) -> None:
        return None


def filled(controller: SiteController, running: int, queued: int) -> SiteController:
    for index in range(running + queued):
        at = T0 + timedelta(seconds=index)
        controller.on_request(request(index, at), at)
    return controller


def request_timer(controller: SiteController, first: int) -> Callable[[], None]:
    """A call that sends the controller one more request, a second after the previous one."""
    index = first

    def one_request() -> None:
        nonlocal index
        index += 1
        at = T0 + timedelta(seconds=index)
        controller.on_request(request(index, at), at)

    return one_request


def measure(running: int, queued: int, repeat: int) -> dict[str, float]:
    fleet = load_fleet()
    controller = filled(SiteController(fleet), running, queued)
    baseline = filled(WithoutSnapshots(fleet), running, queued)
    jobs = controller.jobs["west-1"]
    site = jobs.site
    text = json.dumps(jobs.snapshot())
    return {
        "running": len(jobs.running),
        "queued": len(jobs.queued),
        "snapshot_bytes": len(text),
        "snapshot_and_json_ms": 1e3 * timed(lambda: json.dumps(jobs.snapshot()), repeat),
        "restore_ms": 1e3 * timed(lambda: SiteJobs.restore(site, json.loads(text)), repeat),
        "on_request_with_snapshot_ms": 1e3 * timed(request_timer(controller, running + queued), repeat),
        "on_request_without_snapshot_ms": 1e3 * timed(request_timer(baseline, running + queued), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--running", type=int, default=320, help="1-GPU jobs running at west-1 (at most 320)")
    parser.add_argument("--queued", type=int, default=200, help="jobs waiting at west-1")
    parser.add_argument("--repeat", type=int, default=50, help="timed repetitions (median reported)")
    args = parser.parse_args()
    for key, value in measure(args.running, args.queued, args.repeat).items():
        print(f"{key:32s} {value:,.2f}")


if __name__ == "__main__":
    main()
