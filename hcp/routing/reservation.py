"""Reservations (EASY-backfill style): GPUs of one node held for a queued job that backfill would starve.

A job that has waited its class's reservation threshold (by default its SLA) and still cannot start gets, if it
is the highest-priority, oldest such job, a reservation: the node of a usable type whose GPUs are expected to have
room for it soonest, and on that node the GPUs that free first. Those GPUs are held (hidden from placement) until
the job starts; other jobs may use the node's other GPUs, and may use the held ones only if they are expected to
end before the reservation's expected start or are of strictly higher priority than the reserved job.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hcp.routing.capacity import Capacity
from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import MILLI_PER_GPU, Job, RouterConfig
from hcp.routing.preemption import RunningJob, is_protected


@dataclass
class Reservation:
    """GPUs `gpus` of node index `node` held for queued job `job_id` since `made_at`.

    `expected_start` is when every held GPU is expected to have the job's room, from the running jobs' expected
    ends (None when one of them has no expected end). The GPU set is re-picked on the same node as jobs end.
    """

    job_id: str
    level: int
    node: int
    gpus: tuple[int, ...]
    made_at: datetime
    expected_start: datetime | None
    signature: tuple[object, ...] = field(default=(), compare=False, repr=False)
    """The node's running jobs and free room when the GPUs were picked (re-picked when it changes)."""


@dataclass(frozen=True)
class ReservationPlan:
    """Where a reservation would hold: a node, its GPUs (soonest free first) and the expected start."""

    node: int
    gpus: tuple[int, ...]
    expected_start: datetime | None
    free_now: int
    milli_to_drain: int


@dataclass
class ReservationBook:
    """The router's reservation state: reservations by job, the due threshold heap and the overdue jobs."""

    by_job: dict[str, Reservation] = field(default_factory=dict)
    due: list[tuple[datetime, int, str]] = field(default_factory=list)
    """(threshold time, queue stint, job id) of queued jobs, earliest first (stale entries dropped lazily)."""
    overdue: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """job id -> (-level, sequence, stint) of queued jobs past their threshold and not yet reserved for."""
    ran_s: dict[str, float] = field(default_factory=dict)
    """Seconds run before the latest start, for jobs preempted at least once (their remaining duration)."""

    @property
    def nodes(self) -> set[int]:
        return {r.node for r in self.by_job.values()}

    def collect_due(self, now: datetime, queue_key: Callable[[str, int], tuple[int, int] | None]) -> None:
        """Move the jobs whose threshold passed by `now` into `overdue`; `queue_key(job_id, stint)` is the job's
        (-level, sequence) if it is still queued in that stint, else None."""
        while self.due and self.due[0][0] <= now:
            _, stint, job_id = heapq.heappop(self.due)
            key = queue_key(job_id, stint)
            if key is not None:
                self.overdue[job_id] = (*key, stint)

    def candidates(self) -> list[tuple[str, int]]:
        """(job id, stint) of overdue jobs without a reservation, highest level first, then oldest."""
        ordered = sorted((key, job_id) for job_id, key in self.overdue.items() if job_id not in self.by_job)
        return [(job_id, key[2]) for key, job_id in ordered]

    def next_due(self, queue_key: Callable[[str, int], tuple[int, int] | None]) -> datetime | None:
        """The earliest threshold still to come of a queued job (stale entries are dropped)."""
        while self.due and queue_key(self.due[0][2], self.due[0][1]) is None:
            heapq.heappop(self.due)
        return self.due[0][0] if self.due else None


def expected_end(job: Job, started_at: datetime, ran_s: float) -> datetime | None:
    """When a job started at `started_at` is expected to end, given `ran_s` seconds run before; None if unknown."""
    if job.expected_duration_s is None:
        return None
    return started_at + timedelta(seconds=max(0.0, job.expected_duration_s - ran_s))


FreesAt = Callable[[RunningJob], datetime | None]
"""When a running job gives its GPUs back: its expected end, or earlier if it may be preempted; None if unknown."""


def frees_at_for(job: Job, config: RouterConfig) -> FreesAt:
    """For a reservation of `job`: a running job frees its GPUs at its expected end, or as soon as `job` may
    preempt it (preemptible, lower priority, not protected, after the minimum runtime)."""

    def frees_at(running: RunningJob) -> datetime | None:
        other = running.job
        preemptible = config.preemption_enabled and other.preemptible and not is_protected(other, config)
        if preemptible and other.priority < job.priority:
            eligible = running.started_at + timedelta(seconds=config.min_runtime_s)
            return eligible if running.expected_end is None else min(eligible, running.expected_end)
        return running.expected_end

    return frees_at


def gpu_ready_at(
    room: int, need: int, occupants: Iterable[RunningJob], now: datetime, frees_at: FreesAt
) -> datetime | None:
    """When a GPU with `room` free milli-GPUs will have `need`, as its occupants free it; None if that depends on
    an occupant of unknown end."""
    if room >= need:
        return now
    known = sorted((when, r.slots.milli) for r in occupants if (when := frees_at(r)) is not None)
    for when, milli in known:
        room += milli
        if room >= need:
            return max(now, when)
    return None


def plan_reservation(
    job: Job,
    now: datetime,
    capacity: Capacity,
    nodes: Iterable[int],
    running_on: Mapping[int, Mapping[str, RunningJob]],
    frees_at: FreesAt,
) -> ReservationPlan | None:
    """The node among `nodes` (of a type `job` may use) whose GPUs have room for `job` soonest, or None.

    Soonest: expected start from known ends first (earliest), then nodes whose start is unknown, each by fewest
    milli-GPUs to drain, then lowest node index.
    """
    best: tuple[tuple[int, float, int, int], ReservationPlan] | None = None
    for node in nodes:
        plan = plan_on_node(job, now, capacity, node, running_on[node].values(), frees_at)
        if plan is None:
            continue
        start = plan.expected_start
        key = (0 if start else 1, start.timestamp() if start else 0.0, plan.milli_to_drain, node)
        if best is None or key < best[0]:
            best = (key, plan)
    return None if best is None else best[1]


def plan_on_node(
    job: Job, now: datetime, capacity: Capacity, node: int, running: Iterable[RunningJob], frees_at: FreesAt
) -> ReservationPlan | None:
    """The GPUs of `node` that have room for `job` soonest, or None if the node has too few GPUs."""
    count, need = gpus_needed(job)
    gpu_total = len(capacity.free[node])
    if gpu_total < count:
        return None
    occupants: dict[int, list[RunningJob]] = {g: [] for g in range(gpu_total)}
    for r in running:
        for g in r.slots.gpus:
            occupants[g].append(r)
    ranked = []
    for g in range(gpu_total):
        room = capacity.room(node, g)
        ready = gpu_ready_at(room, need, occupants[g], now, frees_at)
        ranked.append(((0 if ready else 1, ready.timestamp() if ready else 0.0, -room, g), g, ready, room))
    ranked.sort()
    chosen = ranked[:count]
    readies = [ready for _, _, ready, _ in chosen]
    start = None if any(r is None for r in readies) else max(readies)  # type: ignore[type-var]
    return ReservationPlan(
        node=node,
        gpus=tuple(sorted(g for _, g, _, _ in chosen)),
        expected_start=start,
        free_now=sum(room >= need for *_, room in chosen),
        milli_to_drain=sum(max(0, need - room) for *_, room in chosen),
    )


def gpus_needed(job: Job) -> tuple[int, int]:
    """(GPUs, milli-GPUs free on each) a job needs: whole GPUs, or one GPU with room for its share."""
    if job.whole_gpus:
        return job.whole_gpus, MILLI_PER_GPU
    return 1, job.demand_milli


def room_on_node(job: Job, free: Sequence[int]) -> tuple[int, ...] | None:
    """The GPUs of a node (by free milli-GPUs `free`) where `job` starts now: the first free whole GPUs, or the
    tightest GPU with room for a share; None if it does not fit."""
    count, need = gpus_needed(job)
    fitting = [g for g, room in enumerate(free) if room >= need]
    if len(fitting) < count:
        return None
    if job.whole_gpus:
        return tuple(fitting[:count])
    return (min(fitting, key=lambda g: (free[g], g)),)


def check_bookings(
    capacity: Capacity,
    running: Iterable[RunningJob],
    reservations: Iterable[Reservation],
    queued: Mapping[str, object],
) -> None:
    """Raise RoutingError unless every GPU's booked, free and held milli-GPUs add up to one GPU, the allocated
    total matches the running jobs, and every hold belongs to the reservation of a queued job."""
    booked: dict[tuple[int, int], int] = {}
    for r in running:
        for gpu in r.slots.gpus:
            booked[(r.slots.node, gpu)] = booked.get((r.slots.node, gpu), 0) + r.slots.milli
    problems = []
    for node, free in enumerate(capacity.free):
        for gpu, room in enumerate(free):
            used = booked.get((node, gpu), 0)
            held = capacity.held.get((node, gpu), 0)
            if used + room + held != MILLI_PER_GPU or room < 0 or held < 0:
                problems.append(f"{capacity.nodes[node].node_id} GPU {gpu}: booked {used} free {room} held {held}")
    if sum(booked.values()) != capacity.allocated_milli:
        problems.append(f"allocated {capacity.allocated_milli} milli-GPU but running jobs book {sum(booked.values())}")
    holds = {(r.node, g) for r in reservations for g in r.gpus if r.job_id in queued}
    if set(capacity.held) - holds:
        problems.append(f"holds without a reservation of a queued job: {sorted(set(capacity.held) - holds)}")
    if problems:
        raise RoutingError("router books disagree: " + "; ".join(problems[:5]))
