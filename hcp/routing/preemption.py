"""Which running jobs to preempt so that a higher-priority job starts now, and which are never touched."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from hcp.records.workloads import QosClass
from hcp.routing.capacity import Capacity, Slots
from hcp.routing.jobs import MILLI_PER_GPU, Job, RouterConfig


@dataclass(frozen=True)
class RunningJob:
    """A job on a node since `started_at` (its latest start), expected to end at `expected_end` (None: unknown)."""

    job: Job
    slots: Slots
    started_at: datetime
    expected_end: datetime | None = None


@dataclass(frozen=True)
class PreemptionPlan:
    """Preempting `victims` on node index `node` frees room for the job."""

    node: int
    victims: tuple[RunningJob, ...]


def is_protected(job: Job, config: RouterConfig) -> bool:
    """A latency-sensitive job at or above the protected level is never preempted."""
    return job.qos_class is QosClass.LS and job.priority >= config.ls_protected_priority


def may_preempt(victim: RunningJob, job: Job, now: datetime, config: RouterConfig) -> bool:
    """Whether `victim` may make room for `job`: preemptible, lower priority, not protected, run min runtime."""
    return (
        victim.job.preemptible
        and victim.job.priority < job.priority
        and not is_protected(victim.job, config)
        and (now - victim.started_at).total_seconds() >= config.min_runtime_s
    )


def plan_preemption(
    job: Job,
    now: datetime,
    config: RouterConfig,
    capacity: Capacity,
    running_on: Mapping[int, Sequence[RunningJob]],
) -> PreemptionPlan | None:
    """The cheapest preemption, among the nodes of `running_on` (node index -> its running jobs), that lets
    `job` start now, or None.

    Cheapest means: lowest highest-victim priority, then fewest victims, then fewest milli-GPUs preempted,
    then lowest node index.
    """
    best: tuple[tuple[int, int, int, int], PreemptionPlan] | None = None
    for node, running in running_on.items():
        eligible = [r for r in running_on[node] if may_preempt(r, job, now, config)]
        if not eligible:
            continue
        victims = _victims_on_node(job, node, capacity, running, eligible)
        if victims is None:
            continue
        cost = (
            max(v.job.priority for v in victims),
            len(victims),
            sum(v.slots.milli * len(v.slots.gpus) for v in victims),
            node,
        )
        if best is None or cost < best[0]:
            best = (cost, PreemptionPlan(node, tuple(victims)))
    return None if best is None else best[1]


def _victims_on_node(
    job: Job, node: int, capacity: Capacity, running: Iterable[RunningJob], eligible: list[RunningJob]
) -> list[RunningJob] | None:
    free = capacity.free[node]
    if job.whole_gpus:
        occupants: dict[int, list[RunningJob]] = {g: [] for g in range(len(free))}
        for r in running:
            for g in r.slots.gpus:
                occupants[g].append(r)
        return _victims_for_whole(job.whole_gpus, free, occupants, {r.job.job_id for r in eligible})
    # Cheapest first: lowest priority, then the most recent start (least work lost).
    order = sorted(eligible, key=lambda r: (r.job.priority, -r.started_at.timestamp()))
    return _victims_for_share(job.demand_milli, free, order)


def _victims_for_whole(
    whole: int, free: list[int], occupants: dict[int, list[RunningJob]], allowed: set[str]
) -> list[RunningJob] | None:
    freeable = [g for g, jobs in occupants.items() if jobs and all(r.job.job_id in allowed for r in jobs)]
    freeable.sort(key=lambda g: (max(r.job.priority for r in occupants[g]), len(occupants[g]), g))
    victims: dict[str, RunningJob] = {}
    for gpu in freeable:
        for r in occupants[gpu]:
            victims[r.job.job_id] = r
        released = {g for g, jobs in occupants.items() if all(r.job.job_id in victims for r in jobs)}
        if sum(free[g] == MILLI_PER_GPU or g in released for g in range(len(free))) >= whole:
            return list(victims.values())
    return None


def _victims_for_share(milli: int, free: list[int], order: list[RunningJob]) -> list[RunningJob] | None:
    best: list[RunningJob] | None = None
    for gpu in range(len(free)):
        room = free[gpu]
        victims = []
        for r in order:
            if room >= milli:
                break
            if gpu in r.slots.gpus:
                victims.append(r)
                room += r.slots.milli
        if room >= milli and victims and (best is None or _cost(victims) < _cost(best)):
            best = victims
    return best


def _cost(victims: list[RunningJob]) -> tuple[int, int, int]:
    return max(v.job.priority for v in victims), len(victims), sum(v.slots.milli for v in victims)
