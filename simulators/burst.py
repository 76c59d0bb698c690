"""The scheduled AI burst that makes the demo's ASICs give way under a site's power cap.

`BURST_DELAY` after the simulation starts, jobs arrive for `BURST_ARRIVAL_WINDOW` asking, together, for
`BURST_SHARE_OF_POOL` of the largest GPU pool of the fleet (one GPU type at one site: in the demo fleet, west-1's
H100s, the only H100s). About half the jobs are latency-sensitive (priority 7-9), half best-effort (0-3); each runs
`BURST_RUN_S` seconds. With the default start (2023-01-16T00:00Z) the jobs arrive 00:30-00:40Z and end by 01:55Z,
and the market's scheduled price spike (15:00 Central, `simulators.market`) prices 21:00-22:00Z.

A short run that shows both: `SHORT_LOOP_START` (19:00Z) for `SHORT_LOOP_HOURS` (3.5 h): burst arrivals
19:30-19:40Z, ended by 20:55Z; spike intervals 21:00-22:00Z, their prices published 21:15-22:00Z.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from hcp.fleet import Fleet
from hcp.records import WorkloadRequest
from simulators.workloads import classify_priority

BURST_DELAY = timedelta(minutes=30)
BURST_ARRIVAL_WINDOW = timedelta(minutes=10)
BURST_RUN_S = (2700.0, 4500.0)
BURST_SHARE_OF_POOL = 0.9
BURST_JOB_GPUS = (4, 8)
SHORT_LOOP_START = datetime(2023, 1, 16, 19, tzinfo=UTC)
SHORT_LOOP_HOURS = 3.5


@dataclass(frozen=True)
class AiBurst:
    """The burst's jobs, all for `gpu_type` GPUs of which `site_id` has the most."""

    site_id: str
    gpu_type: str
    requests: tuple[WorkloadRequest, ...]

    @property
    def gpus(self) -> int:
        """GPUs the burst's jobs ask for, together."""
        return sum(request.gpu_count for request in self.requests)

    @property
    def first_arrival(self) -> datetime:
        return self.requests[0].event_time

    @property
    def last_arrival(self) -> datetime:
        return self.requests[-1].event_time

    @property
    def ends(self) -> datetime:
        """When the last job would end if every job ran as soon as it arrived."""
        return max(r.event_time + timedelta(seconds=r.expected_duration_s) for r in self.requests)


def largest_gpu_pool(fleet: Fleet) -> tuple[str, str, int] | None:
    """(site_id, GPU type, count) of the site and type with the most GPUs, first in fleet order on a tie."""
    pools: dict[tuple[str, str], int] = {}
    for site in fleet.sites:
        for group in site.gpus:
            pools[(site.site_id, group.model)] = pools.get((site.site_id, group.model), 0) + group.count
    if not pools:
        return None
    (site_id, gpu_type), count = max(pools.items(), key=lambda item: item[1])
    return site_id, gpu_type, count


def plan_burst(fleet: Fleet, start: datetime, seed: int) -> AiBurst | None:
    """The burst of a run that starts at `start`, seeded; None for a fleet without GPUs."""
    pool = largest_gpu_pool(fleet)
    if pool is None:
        return None
    site_id, gpu_type, count = pool
    rng = np.random.default_rng([seed, 7])
    shares = np.array([c.share for c in fleet.customers])
    customers = [c.customer_id for c in fleet.customers]
    remaining = max(1, int(count * BURST_SHARE_OF_POOL))
    sizes: list[int] = []
    while remaining > 0:
        sizes.append(min(int(rng.choice(BURST_JOB_GPUS)), remaining))
        remaining -= sizes[-1]
    first = start + BURST_DELAY
    window_s = BURST_ARRIVAL_WINDOW.total_seconds()
    requests = []
    for k, size in enumerate(sizes):
        latency_sensitive = k % 2 == 0
        priority = int(rng.integers(7, 10) if latency_sensitive else rng.integers(0, 4))
        job_class = classify_priority(priority)
        arrival = first + timedelta(seconds=int(k * window_s / len(sizes)))
        job_id = f"burst-s{seed}-{int(first.timestamp())}-{k + 1:04d}"
        requests.append(
            WorkloadRequest(
                event_id=job_id,
                event_time=arrival,
                job_id=job_id,
                customer_id=customers[int(rng.choice(len(customers), p=shares / shares.sum()))],
                gpu_type=gpu_type,
                gpu_count=size,
                priority=priority,
                qos_class=job_class.qos_class,
                preemptible=job_class.preemptible,
                expected_duration_s=round(float(rng.uniform(*BURST_RUN_S)), 1),
            )
        )
    return AiBurst(site_id=site_id, gpu_type=gpu_type, requests=tuple(requests))
