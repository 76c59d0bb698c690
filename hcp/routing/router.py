"""The GPU job router: a ten-level priority queue, best-fit placement, guarded preemption and reservations for
starving jobs (see `hcp.routing.reserving`), in event time.

Every call takes the event time explicitly and returns the decisions it made, so the same router serves a live
agent (wall-clock time) and a replay (trace time). Times must not go backwards.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hcp.exceptions import ConfigError
from hcp.routing.capacity import Capacity, Slots
from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import DecisionKind as Kind
from hcp.routing.jobs import Job, Node, RouterConfig, RouterDecision
from hcp.routing.preemption import PreemptionPlan, RunningJob, is_protected, plan_preemption
from hcp.routing.queue import JobQueue
from hcp.routing.reservation import (
    Reservation,
    ReservationBook,
    check_bookings,
    expected_end,
)
from hcp.routing.reserving import ReservationSteps


@dataclass
class _Waiting:
    job: Job
    since: datetime
    stint: int
    breached: bool = False


class Router(ReservationSteps):
    """Places jobs on nodes; see docs/routing.md for the rules."""

    def __init__(self, nodes: Sequence[Node], config: RouterConfig | None = None) -> None:
        if not nodes:
            raise ConfigError("the router needs at least one node")
        ids = [n.node_id for n in nodes]
        if len(set(ids)) != len(ids):
            raise ConfigError("node ids must be unique")
        self.config = config or RouterConfig()
        self._capacity = Capacity(nodes)
        self._queue = JobQueue()
        self._waiting: dict[str, _Waiting] = {}
        self._running: dict[str, RunningJob] = {}
        self._on_node: dict[int, dict[str, RunningJob]] = {i: {} for i in range(len(nodes))}
        self._preemptible_on: dict[str, dict[int, int]] = {t: {} for t in self._capacity.pools}
        self._seqs: dict[str, int] = {}
        self._stints = 0
        self._sla_heap: list[tuple[datetime, int, str]] = []
        self._eligible_heap: list[tuple[datetime, int, str, datetime]] = []
        self._now: datetime | None = None
        self._reservations = ReservationBook()

    @property
    def capacity_gpus(self) -> float:
        return self._capacity.total_milli / 1000

    @property
    def allocated_gpus(self) -> float:
        return self._capacity.allocated_milli / 1000

    @property
    def queued_count(self) -> int:
        return len(self._queue)

    @property
    def running_count(self) -> int:
        return len(self._running)

    def placement_of(self, job_id: str) -> RunningJob | None:
        """Where a job runs now, or None."""
        return self._running.get(job_id)

    def running_jobs(self) -> list[RunningJob]:
        """Every running job with its GPUs."""
        return list(self._running.values())

    def reservations(self) -> list[Reservation]:
        """The reservations holding now (copies), oldest first."""
        return [replace(r) for r in self._reservations.by_job.values()]

    def audit(self) -> None:
        """Raise RoutingError if the books disagree: a GPU booked beyond its capacity, free or held room that does
        not add up, or a hold that belongs to no reservation of a queued job."""
        check_bookings(self._capacity, self._running.values(), self._reservations.by_job.values(), self._waiting)

    def submit(self, job: Job, now: datetime) -> list[RouterDecision]:
        """Accept a job: reject it if it can never fit, else start it now or queue it."""
        self._advance(now)
        types = self._capacity.types_for(job.gpu_type)
        if job.job_id in self._seqs:
            return [RouterDecision(Kind.REJECTED, now, job, "job id already submitted")]
        if not types:
            known = ", ".join(sorted(self._capacity.pools))
            return [RouterDecision(Kind.REJECTED, now, job, f"unknown GPU type {job.gpu_type!r} (cluster: {known})")]
        largest = self._capacity.largest_node(types)
        if job.whole_gpus > largest:
            label = job.gpu_type or "any-type"
            reason = f"asks {job.whole_gpus} GPUs on one node; the largest {label} node has {largest}"
            return [RouterDecision(Kind.REJECTED, now, job, reason)]
        self._seqs[job.job_id] = len(self._seqs)
        self._enqueue(job, now)
        decisions = self._schedule(now)
        if job.job_id in self._waiting:
            decisions.insert(0, RouterDecision(Kind.QUEUED, now, job, self._queued_reason(job), queue_wait_s=0.0))
        return decisions

    def finish(self, job_id: str, now: datetime) -> list[RouterDecision]:
        """A running job ended (its room goes to the queue) or a queued job was withdrawn."""
        self._advance(now)
        self._reservations.ran_s.pop(job_id, None)
        if job_id in self._running:
            self._release(job_id)
            return self._schedule(now)
        if job_id in self._waiting:
            self._queue.remove(job_id)
            job = self._waiting.pop(job_id).job
            self._reservations.overdue.pop(job_id, None)
            if job_id not in self._reservations.by_job:
                return []
            return [self._end_reservation(job, now, None), *self._schedule(now)]
        raise RoutingError(f"finish of unknown job {job_id!r}: neither running nor queued")

    def tick(self, now: datetime) -> list[RouterDecision]:
        """Let time pass: report SLA breaches due by `now` and preempt for work whose victims are now eligible."""
        self._advance(now)
        decisions = []
        while self._sla_heap and self._sla_heap[0][0] <= now:
            _, stint, job_id = heapq.heappop(self._sla_heap)
            waiting = self._waiting.get(job_id)
            if waiting is not None and waiting.stint == stint and not waiting.breached:
                decisions.append(self._breach(waiting, now))
        return decisions + self._schedule(now)

    def next_wakeup(self) -> datetime | None:
        """The next time at which `tick` could decide something (an SLA deadline or a victim's min runtime)."""
        while self._sla_heap and self._sla_stale(self._sla_heap[0]):
            heapq.heappop(self._sla_heap)
        times = [self._sla_heap[0][0]] if self._sla_heap else []
        if self._queue and self.config.preemption_enabled:
            heap = self._eligible_heap
            # Entries due by now were already considered by the scheduling pass of the latest call.
            while heap and (self._now is None or heap[0][0] <= self._now or self._eligible_stale(heap[0])):
                heapq.heappop(heap)
            times += [heap[0][0]] if heap else []
        due = self._reservations.next_due(self._queue_key) if self.config.reservations_enabled else None
        times += [due] if due is not None else []
        return min(times, default=None)

    def _advance(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise RoutingError("event times must be timezone-aware")
        if self._now is not None and now < self._now:
            raise RoutingError(f"event time went backwards: {now.isoformat()} < {self._now.isoformat()}")
        self._now = now

    def _enqueue(self, job: Job, now: datetime) -> None:
        self._stints += 1
        self._queue.push(job.job_id, self._level(job), (job.gpu_type, job.demand_milli), self._seqs[job.job_id])
        self._waiting[job.job_id] = _Waiting(job, now, self._stints)
        deadline = now + timedelta(seconds=self.config.sla_s[job.qos_class])
        heapq.heappush(self._sla_heap, (deadline, self._stints, job.job_id))
        if self.config.reservations_enabled:
            after = now + timedelta(seconds=self.config.reserve_after(job.qos_class))
            heapq.heappush(self._reservations.due, (after, self._stints, job.job_id))

    def _schedule(self, now: datetime) -> list[RouterDecision]:
        """Start reserved jobs whose GPUs have room, then what can start; then reserve for overdue jobs that still
        wait, and go round again when that made a reservation (it may start at once by preemption on its node)."""
        decisions: list[RouterDecision] = []
        reserved: set[str] = set()
        again = True
        while again:  # ends: each round needs a job reserved for the first time in this call
            decisions += self._serve_reservations(now) if self._reservations.by_job else []
            decisions += self._start_queued(now)
            made = self._reserve(now) if self.config.reservations_enabled else []
            decisions += made
            fresh = {d.job.job_id for d in made if d.kind is Kind.RESERVED} - reserved
            reserved |= fresh
            held = [self._reservations.by_job.get(job_id) for job_id in fresh]
            again = any(h is not None and h.expected_start is not None and h.expected_start <= now for h in held)
        return decisions

    def _start_queued(self, now: datetime) -> list[RouterDecision]:
        """Start what can start, level by level, FIFO within a level; repeat while preemption requeues work."""
        decisions: list[RouterDecision] = []
        preempted = True
        while preempted:
            preempted = False
            for level in list(self._queue.levels()):
                heads = self._queue.heads(level)
                while heads:
                    _, key = heapq.heappop(heads)
                    head = self._queue.head(level, key)
                    if head is None:
                        continue
                    started = self._try_start(self._waiting[head[1]], now)
                    if started is None:
                        if self._reservations.by_job:
                            decisions += self._backfill_group(level, key, head[1], now)
                        continue
                    decisions += started
                    preempted = preempted or any(d.kind is Kind.PREEMPTED for d in started)
                    following = self._queue.head(level, key)
                    if following is not None:
                        heapq.heappush(heads, (following[0], key))
        return decisions

    def _try_start(self, waiting: _Waiting, now: datetime) -> list[RouterDecision] | None:
        job = waiting.job
        types = self._capacity.types_for(job.gpu_type)
        policy = self.config.placement
        slots = self._capacity.find(job.demand_milli, types, policy)
        decisions: list[RouterDecision] = []
        reason = f"{policy.value}"
        if slots is None and self._reservations.by_job:
            within = self._slots_in_reservation(job, types, now)
            if within is not None:
                slots, held, why = within
                started = self._start(waiting, slots, now, f"{reason} {why}")
                self._hold(held, now)
                return started
        if slots is None:
            plan = self._plan(job, types, now)
            if plan is None:
                return None
            decisions = [self._preempt(victim, job, now) for victim in plan.victims]
            slots = self._capacity.find(job.demand_milli, types, policy)
            if slots is None or slots.node != plan.node:
                raise RoutingError(f"preemption for {job.job_id} freed no room on the planned node")
            reason = f"{policy.value} after preempting {len(plan.victims)} job(s)"
        return decisions + self._start(waiting, slots, now, reason)

    def _plan(self, job: Job, types: list[str], now: datetime, node: int | None = None) -> PreemptionPlan | None:
        """The cheapest preemption that starts `job` now: on `node` only, or on any node without a reservation."""
        if not self.config.preemption_enabled:
            return None
        if node is not None:
            nodes = [node] if node in self._preemptible_on[self._capacity.nodes[node].gpu_type] else []
        else:
            reserved = self._reservations.nodes
            nodes = [n for t in types for n in self._preemptible_on[t] if n not in reserved]
        running_on = {n: list(self._on_node[n].values()) for n in nodes}
        return plan_preemption(job, now, self.config, self._capacity, running_on) if running_on else None

    def _start(self, waiting: _Waiting, slots: Slots, now: datetime, reason: str) -> list[RouterDecision]:
        job = waiting.job
        wait = (now - waiting.since).total_seconds()
        decisions = []
        if not waiting.breached and wait >= self.config.sla_s[job.qos_class]:
            decisions.append(self._breach(waiting, now))
        self._queue.remove(job.job_id)
        del self._waiting[job.job_id]
        self._capacity.take(slots)
        running = RunningJob(job, slots, now, expected_end(job, now, self._reservations.ran_s.get(job.job_id, 0.0)))
        self._running[job.job_id] = running
        self._on_node[slots.node][job.job_id] = running
        if self._preemptible(job):
            gpu_type = self._capacity.nodes[slots.node].gpu_type
            counts = self._preemptible_on[gpu_type]
            counts[slots.node] = counts.get(slots.node, 0) + 1
            eligible_at = now + timedelta(seconds=self.config.min_runtime_s)
            heapq.heappush(self._eligible_heap, (eligible_at, self._seqs[job.job_id], job.job_id, now))
        node = self._capacity.nodes[slots.node]
        gpus = [str(g) for g in slots.gpus]
        text = f"{reason}: {job.gpus:g} {node.gpu_type} GPU on {node.node_id} (GPU {','.join(gpus)})"
        decisions.append(RouterDecision(Kind.PLACED, now, job, text, node.node_id, job.gpus, wait))
        self._reservations.overdue.pop(job.job_id, None)
        if job.job_id in self._reservations.by_job:
            decisions.append(self._end_reservation(job, now, slots.node))
        return decisions

    def _preempt(self, victim: RunningJob, job: Job, now: datetime) -> RouterDecision:
        ran = (now - victim.started_at).total_seconds()
        ran_s = self._reservations.ran_s
        ran_s[victim.job.job_id] = ran_s.get(victim.job.job_id, 0.0) + ran
        node_id = self._capacity.nodes[victim.slots.node].node_id
        self._release(victim.job.job_id)
        self._enqueue(victim.job, now)
        reason = (
            f"priority {victim.job.priority} preemptible job ran {ran:.0f}s (min {self.config.min_runtime_s:.0f}s);"
            f" makes room for {job.job_id} (priority {job.priority}) on {node_id}; requeued"
        )
        return RouterDecision(Kind.PREEMPTED, now, victim.job, reason, node_id, victim.job.gpus)

    def _release(self, job_id: str) -> None:
        running = self._running.pop(job_id)
        node = running.slots.node
        del self._on_node[node][job_id]
        self._capacity.give_back(running.slots)
        if self._preemptible(running.job):
            counts = self._preemptible_on[self._capacity.nodes[node].gpu_type]
            counts[node] -= 1
            if counts[node] == 0:
                del counts[node]

    def _breach(self, waiting: _Waiting, now: datetime) -> RouterDecision:
        waiting.breached = True
        wait = (now - waiting.since).total_seconds()
        sla = self.config.sla_s[waiting.job.qos_class]
        reason = f"{waiting.job.qos_class.value} job waited {wait:.0f}s in queue; its SLA is {sla:.0f}s"
        return RouterDecision(Kind.SLA_BREACH, now, waiting.job, reason, queue_wait_s=wait)

    def _queued_reason(self, job: Job) -> str:
        label = job.gpu_type or "any-type"
        reason = f"no {label} node has {job.gpus:g} free GPU"
        if self.config.preemption_enabled:
            reason += f" and no lower-priority preemptible job has run {self.config.min_runtime_s:.0f}s"
        return f"{reason}; waits at level {self._level(job)}"

    def _level(self, job: Job) -> int:
        return job.priority if self.config.use_priorities else 0

    def _preemptible(self, job: Job) -> bool:
        return self.config.preemption_enabled and job.preemptible and not is_protected(job, self.config)

    def _sla_stale(self, entry: tuple[datetime, int, str]) -> bool:
        waiting = self._waiting.get(entry[2])
        return waiting is None or waiting.stint != entry[1] or waiting.breached

    def _eligible_stale(self, entry: tuple[datetime, int, str, datetime]) -> bool:
        running = self._running.get(entry[2])
        return running is None or running.started_at != entry[3]
