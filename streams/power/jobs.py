"""One site's GPU work: its `hcp.routing.Router`, when each running job ends, and the power its jobs want.

Pure (no faust). Time is event time: the router's clock only moves forward, and a job ends when the clock
passes its start plus its remaining expected runtime (a preempted job keeps what it had left to run).

`snapshot()` and `SiteJobs.restore` carry all of it over a restart (the router's part by `hcp.routing.snapshot`);
`changed` says whether a decision or an end was booked since the caller last took a snapshot.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hcp.allocation import GpuClass, GpuDemand, gpu_class_for
from hcp.economics import GPU_MODELS
from hcp.fleet import Site, gpu_nodes
from hcp.routing import DecisionKind as RouteKind
from hcp.routing import Job, Node, Router, RouterConfig, RouterDecision, RoutingError
from hcp.routing.snapshot import job_from_dict, restore_router, router_snapshot

MIN_RUN_SECONDS = 1.0


@dataclass
class RunningEntry:
    job: Job
    node_id: str
    started_at: datetime
    remaining_s: float

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.remaining_s)


@dataclass
class SiteJobs:
    """The router of one site and the jobs it holds."""

    site: Site
    router: Router
    gpus_by_type: dict[str, int]
    clock: datetime | None = None
    running: dict[str, RunningEntry] = field(default_factory=dict)
    remaining_s: dict[str, float] = field(default_factory=dict)
    queued: dict[str, Job] = field(default_factory=dict)
    changed: bool = False
    """A decision or an end was booked since the flag was last cleared (by whoever snapshots)."""
    _ends: list[tuple[datetime, str, datetime]] = field(default_factory=list)

    @classmethod
    def for_site(cls, site: Site, config: RouterConfig | None = None) -> SiteJobs | None:
        """The site's jobs, or None for a site without GPUs."""
        nodes = _router_nodes(site)
        if not nodes:
            return None
        by_type: dict[str, int] = {}
        for node in nodes:
            by_type[node.gpu_type] = by_type.get(node.gpu_type, 0) + node.gpus
        return cls(site, Router(nodes, config), by_type)

    @classmethod
    def restore(cls, site: Site, snapshot: dict[str, Any], config: RouterConfig | None = None) -> SiteJobs:
        """The site's jobs as `snapshot()` recorded them; RoutingError if they do not fit the site's GPUs."""
        jobs = cls.for_site(site, config)
        if jobs is None:
            raise RoutingError(f"site {site.site_id} has no GPUs now, but its router snapshot holds jobs")
        jobs.router = restore_router(snapshot["router"], _router_nodes(site), config)
        jobs.clock = datetime.fromisoformat(snapshot["clock"]) if snapshot["clock"] else None
        for job_id, node_id, left in snapshot["running"]:
            placed = jobs.router.placement_of(job_id)
            if placed is None:
                raise RoutingError(f"site {site.site_id}: job {job_id!r} runs in the snapshot but not in its router")
            entry = RunningEntry(placed.job, node_id, placed.started_at, float(left))
            jobs.running[job_id] = entry
            heapq.heappush(jobs._ends, (entry.ends_at, job_id, entry.started_at))
        jobs.remaining_s = {job_id: float(left) for job_id, left in snapshot["remaining_s"].items()}
        waiting = {entry["job"]["job_id"]: entry["job"] for entry in snapshot["router"]["waiting"]}
        for job_id in snapshot["queued"]:
            job = job_from_dict(waiting[job_id]) if job_id in waiting else None
            if job is None:
                raise RoutingError(f"site {site.site_id}: job {job_id!r} waits in the snapshot but not in its router")
            jobs.queued[job_id] = job
        return jobs

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state: the clock, the router, each running job's node and time left, the queue order."""
        return {
            "clock": self.clock.isoformat() if self.clock else None,
            "router": router_snapshot(self.router),
            "running": [[job_id, e.node_id, e.remaining_s] for job_id, e in self.running.items()],
            "remaining_s": dict(self.remaining_s),
            "queued": list(self.queued),
        }

    def knows(self, job_id: str) -> bool:
        """Whether the job runs or waits here."""
        return job_id in self.running or job_id in self.queued

    def now(self, moment: datetime) -> datetime:
        """Move the clock to `moment` unless it is already later; the clock's time."""
        if self.clock is None or moment > self.clock:
            self.clock = moment
        return self.clock

    def free_gpus(self, gpu_type: str) -> int:
        used = sum(int(e.job.gpus) for e in self.running.values() if e.job.gpu_type == gpu_type)
        return self.gpus_by_type.get(gpu_type, 0) - used

    def due_ends(self, now: datetime) -> list[tuple[datetime, str]]:
        """Running jobs whose expected end is at or before `now`, in end order (each returned once)."""
        due = []
        while self._ends and self._ends[0][0] <= now:
            ends_at, job_id, started_at = heapq.heappop(self._ends)
            entry = self.running.get(job_id)
            if entry is not None and entry.started_at == started_at:
                due.append((ends_at, job_id))
        return due

    def finish(self, job_id: str, at: datetime) -> list[RouterDecision]:
        """The job ended (or is taken back); the router fills the room."""
        self.changed = True
        self.running.pop(job_id, None)
        self.remaining_s.pop(job_id, None)
        self.queued.pop(job_id, None)
        return self.router.finish(job_id, self.now(at))

    def apply(self, decision: RouterDecision) -> float | None:
        """Book a router decision; for a placement, the seconds the job has left to run."""
        self.changed = self.changed or decision.kind is not RouteKind.REJECTED
        job = decision.job
        if decision.kind is RouteKind.PLACED:
            self.queued.pop(job.job_id, None)
            left = max(self.remaining_s.get(job.job_id, job.expected_duration_s or 0.0), MIN_RUN_SECONDS)
            entry = RunningEntry(job, decision.node_id or "", decision.at, left)
            self.running[job.job_id] = entry
            heapq.heappush(self._ends, (entry.ends_at, job.job_id, decision.at))
            return left
        if decision.kind is RouteKind.PREEMPTED:
            entry = self.running.pop(job.job_id, None)
            if entry is not None:
                ran = (decision.at - entry.started_at).total_seconds()
                self.remaining_s[job.job_id] = max(entry.remaining_s - ran, MIN_RUN_SECONDS)
            self.queued[job.job_id] = job
        elif decision.kind is RouteKind.QUEUED:
            self.queued[job.job_id] = job
        return None

    def running_mw(self) -> float:
        """MW the running jobs draw, cooling included (as the allocator counts it)."""
        return sum(
            _mw_per_gpu(e.job.gpu_type or "") * int(e.job.gpus) for e in self.running.values() if e.job.gpu_type
        )

    def demands(self, rate_of: dict[str, float], default_rate: float) -> list[GpuDemand]:
        """GPU demand by class and type: running jobs, then queued ones up to the type's free GPUs."""
        wanted: dict[tuple[str, str], int] = {}
        for entry in self.running.values():
            key = (gpu_class_for(entry.job.qos_class).value, entry.job.gpu_type or "")
            wanted[key] = wanted.get(key, 0) + int(entry.job.gpus)
        free = {gpu_type: self.free_gpus(gpu_type) for gpu_type in self.gpus_by_type}
        for job in sorted(self.queued.values(), key=lambda j: -j.priority):
            gpu_type = job.gpu_type or ""
            take = min(int(job.gpus), free.get(gpu_type, 0))
            if take > 0:
                free[gpu_type] -= take
                key = (gpu_class_for(job.qos_class).value, gpu_type)
                wanted[key] = wanted.get(key, 0) + take
        return [
            GpuDemand(
                demand_id=f"{gpu_class}:{gpu_type}",
                gpu_class=GpuClass(gpu_class),
                gpu_type=GPU_MODELS[gpu_type],
                gpus=gpus,
                value_usd_per_gpu_hour=rate_of.get(gpu_type, default_rate),
            )
            for (gpu_class, gpu_type), gpus in sorted(wanted.items())
            if gpu_type in GPU_MODELS
        ]


def _router_nodes(site: Site) -> list[Node]:
    return [Node(n.node_id, n.gpu_type, len(n.device_ids)) for n in gpu_nodes(site)]


def _mw_per_gpu(gpu_type: str) -> float:
    if gpu_type not in GPU_MODELS:
        return 0.0
    return GpuDemand("probe", GpuClass.BEST_EFFORT, GPU_MODELS[gpu_type], 1, 0.0).mw_per_gpu
