"""Replaying a GPU trace through the router in event time, against a FIFO first-fit baseline.

The replay feeds arrivals, finishes and the router's own wake-ups (SLA deadlines, preemption eligibility) in
time order; at one instant, finishes come first, then arrivals, then wake-ups. A preempted job is paused: it is
requeued and later runs only its remaining time.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hcp.records.workloads import QosClass
from hcp.routing.jobs import DecisionKind, Node, RouterConfig, RouterDecision
from hcp.routing.router import Router
from hcp.routing.trace import TRACE_EPOCH, ClassifyPods, TraceJob, read_trace_nodes, read_trace_pods

_FINISH, _SUBMIT, _TICK = 0, 1, 2
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class WaitStats:
    """Queue waits of one class, seconds (total over a job's queue stints), by nearest rank."""

    jobs: int
    p50_s: float
    p95_s: float
    p99_s: float
    max_s: float


@dataclass(frozen=True)
class PolicySummary:
    """What one policy did with the trace. Shares are of jobs routed (pods asking for GPUs)."""

    policy: str
    jobs: int
    finished: int
    rejected: int
    unfinished: int
    ls_jobs: int
    ls_placed_without_wait: int
    ls_share_without_wait: float
    preemptions: int
    jobs_preempted: int
    sla_breaches: dict[str, int]
    waits: dict[str, WaitStats]
    window_s: float
    capacity_gpus: float
    allocated_gpu_s: float
    capacity_gpu_s: float
    allocation_ratio: float
    peak_allocation_ratio: float
    wall_s: float
    reservations: int = 0
    """Reservations made (0 when the policy makes none)."""
    reservations_honoured: int = 0
    """Reservations whose job started on the reserved node (the rest were released: superseded or started elsewhere)."""


@dataclass(frozen=True)
class PolicyRun:
    """A policy's summary and every decision it made, in order."""

    summary: PolicySummary
    decisions: tuple[RouterDecision, ...]
    outcomes: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class RouteReplay:
    """The router and the FIFO baseline on the same pods and nodes."""

    pods_file: str
    nodes_file: str
    pods_total: int
    pods_cpu_only: int
    nodes: int
    router: PolicyRun
    baseline: PolicyRun


def run_route_replay(
    pods: Path,
    nodes: Path,
    config: RouterConfig | None = None,
    every_nth_node: int = 1,
    classify: ClassifyPods | None = None,
) -> RouteReplay:
    """Read the trace, replay it with `config` (default `RouterConfig()`) and with the FIFO baseline; pods
    without a class take the one `classify` predicts."""
    trace = read_trace_pods(pods, classify)
    node_list = read_trace_nodes(nodes, every_nth_node)
    return RouteReplay(
        pods_file=str(pods),
        nodes_file=str(nodes),
        pods_total=trace.pods_total,
        pods_cpu_only=trace.cpu_only,
        nodes=len(node_list),
        router=replay_jobs(trace.jobs, node_list, config or RouterConfig(), "router"),
        baseline=replay_jobs(trace.jobs, node_list, RouterConfig.fifo_baseline(), "fifo_first_fit"),
    )


def replay_jobs(jobs: Sequence[TraceJob], nodes: Sequence[Node], config: RouterConfig, policy: str) -> PolicyRun:
    """Run `jobs` through a fresh router over `nodes` until each has finished or been rejected."""
    started_wall = time.perf_counter()
    router = Router(nodes, config)
    tally = _Tally(min((tj.arrival_s for tj in jobs), default=0.0))
    events = [(tj.arrival_s, _SUBMIT, i, tj.job.job_id) for i, tj in enumerate(jobs)]
    heapq.heapify(events)
    by_id = {tj.job.job_id: tj for tj in jobs}
    ticks: set[float] = set()
    while events:
        at_s, kind, token, job_id = heapq.heappop(events)
        if kind == _TICK:
            ticks.discard(at_s)
            if not _due(router.next_wakeup(), at_s):
                continue
        if kind == _FINISH and tally.run_token.get(job_id) != token:
            continue  # the run this finish belonged to was preempted
        tally.advance(at_s, router.allocated_gpus)
        now = TRACE_EPOCH + timedelta(seconds=at_s)
        if kind == _FINISH:
            tally.finish(job_id)
            made = router.finish(job_id, now)
        elif kind == _SUBMIT:
            made = router.submit(by_id[job_id].job, now)
        else:
            made = router.tick(now)
        for finish in tally.record(made, at_s, by_id):
            heapq.heappush(events, finish)
        tally.peak_gpus = max(tally.peak_gpus, router.allocated_gpus)
        wake = router.next_wakeup()
        wake_s = None if wake is None else _seconds(wake)
        if wake_s is not None and wake_s > at_s and wake_s not in ticks:
            ticks.add(wake_s)
            heapq.heappush(events, (wake_s, _TICK, 0, ""))
    summary = _summarise(policy, jobs, tally, router.capacity_gpus, time.perf_counter() - started_wall)
    return PolicyRun(summary=summary, decisions=tuple(tally.decisions), outcomes=tally.outcomes)


def _seconds(at: datetime) -> float:
    return (at - TRACE_EPOCH).total_seconds()


def _due(wake: datetime | None, at_s: float) -> bool:
    """Whether a tick at `at_s` is still wanted (a stale tick would stretch the replay window)."""
    return wake is not None and _seconds(wake) <= at_s


@dataclass
class _Tally:
    """What the replay has seen so far: run state of each job, waits, outcomes and allocated GPU-seconds."""

    first_s: float
    last_s: float = 0.0
    allocated_gpu_s: float = 0.0
    peak_gpus: float = 0.0
    tokens: int = 0
    run_token: dict[str, int] = field(default_factory=dict)
    started_s: dict[str, float] = field(default_factory=dict)
    ran_s: dict[str, float] = field(default_factory=dict)
    waits: dict[str, float] = field(default_factory=dict)
    first_wait: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    decisions: list[RouterDecision] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.last_s = self.first_s

    def advance(self, at_s: float, allocated_gpus: float) -> None:
        self.allocated_gpu_s += allocated_gpus * (at_s - self.last_s)
        self.last_s = at_s

    def finish(self, job_id: str) -> None:
        del self.run_token[job_id]
        self.outcomes[job_id] = "finished"

    def record(
        self, made: list[RouterDecision], at_s: float, by_id: dict[str, TraceJob]
    ) -> list[tuple[float, int, int, str]]:
        """Note `made`; return the finish events of the jobs that started."""
        finishes = []
        for decision in made:
            job_id = decision.job.job_id
            if decision.kind is DecisionKind.PLACED:
                wait = decision.queue_wait_s or 0.0
                self.waits[job_id] = self.waits.get(job_id, 0.0) + wait
                self.first_wait.setdefault(job_id, wait)
                self.started_s[job_id] = at_s
                self.tokens += 1
                self.run_token[job_id] = self.tokens
                left = by_id[job_id].run_s - self.ran_s.get(job_id, 0.0)
                finishes.append((at_s + left, _FINISH, self.tokens, job_id))
            elif decision.kind is DecisionKind.PREEMPTED:
                self.ran_s[job_id] = self.ran_s.get(job_id, 0.0) + at_s - self.started_s[job_id]
                del self.run_token[job_id]
            elif decision.kind is DecisionKind.REJECTED:
                self.outcomes[job_id] = "rejected"
        self.decisions += made
        return finishes


def _summarise(
    policy: str, jobs: Sequence[TraceJob], tally: _Tally, capacity_gpus: float, wall_s: float
) -> PolicySummary:
    ls_ids = [tj.job.job_id for tj in jobs if tj.job.qos_class is QosClass.LS]
    ls_no_wait = sum(1 for job_id in ls_ids if tally.first_wait.get(job_id) == 0.0)
    preempted = [d.job.job_id for d in tally.decisions if d.kind is DecisionKind.PREEMPTED]
    reserved = sum(d.kind is DecisionKind.RESERVED for d in tally.decisions)
    honoured = sum(d.kind is DecisionKind.RESERVATION_HONOURED for d in tally.decisions)
    breaches = {q.value: 0 for q in QosClass}
    for d in tally.decisions:
        if d.kind is DecisionKind.SLA_BREACH:
            breaches[d.job.qos_class.value] += 1
    wait_stats = {}
    for qos in QosClass:
        ids = (tj.job.job_id for tj in jobs if tj.job.qos_class is qos)
        values = sorted(tally.waits[job_id] for job_id in ids if job_id in tally.waits)
        if values:
            cuts = [_nearest_rank(values, p) for p in PERCENTILES]
            wait_stats[qos.value] = WaitStats(len(values), *cuts, values[-1])
    window_s = tally.last_s - tally.first_s
    capacity_gpu_s = capacity_gpus * window_s
    outcomes = list(tally.outcomes.values())
    return PolicySummary(
        policy=policy,
        jobs=len(jobs),
        finished=outcomes.count("finished"),
        rejected=outcomes.count("rejected"),
        unfinished=len(jobs) - len(outcomes),
        ls_jobs=len(ls_ids),
        ls_placed_without_wait=ls_no_wait,
        ls_share_without_wait=ls_no_wait / len(ls_ids) if ls_ids else 0.0,
        preemptions=len(preempted),
        jobs_preempted=len(set(preempted)),
        sla_breaches=breaches,
        waits=wait_stats,
        window_s=window_s,
        capacity_gpus=capacity_gpus,
        allocated_gpu_s=tally.allocated_gpu_s,
        capacity_gpu_s=capacity_gpu_s,
        allocation_ratio=tally.allocated_gpu_s / capacity_gpu_s if capacity_gpu_s else 0.0,
        peak_allocation_ratio=tally.peak_gpus / capacity_gpus,
        wall_s=wall_s,
        reservations=reserved,
        reservations_honoured=honoured,
    )


def _nearest_rank(values: list[float], percentile: float) -> float:
    rank = max(1, -(-len(values) * percentile // 100))
    return values[int(rank) - 1]
