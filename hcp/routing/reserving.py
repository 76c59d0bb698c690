"""The router's reservation steps (mixed into `Router`): serve, make, supersede and end reservations, and backfill
onto held GPUs. See `hcp.routing.reservation` for the rules and docs/routing.md for what they achieve."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from hcp.routing.capacity import Capacity, Slots
from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import MILLI_PER_GPU, Job, RouterConfig, RouterDecision
from hcp.routing.jobs import DecisionKind as Kind
from hcp.routing.preemption import PreemptionPlan, RunningJob
from hcp.routing.queue import DemandKey, JobQueue
from hcp.routing.reservation import (
    Reservation,
    ReservationBook,
    expected_end,
    frees_at_for,
    plan_on_node,
    plan_reservation,
    room_on_node,
)

if TYPE_CHECKING:
    from hcp.routing.router import _Waiting


class ReservationSteps:
    """What `Router` does about reservations; uses the router's books (declared below)."""

    config: RouterConfig
    _capacity: Capacity
    _queue: JobQueue
    _waiting: dict[str, _Waiting]
    _on_node: dict[int, dict[str, RunningJob]]
    _seqs: dict[str, int]
    _preemptible_on: dict[str, dict[int, int]]
    _reservations: ReservationBook

    # Provided by Router:

    def _start(self, waiting: _Waiting, slots: Slots, now: datetime, reason: str) -> list[RouterDecision]:
        raise NotImplementedError

    def _preempt(self, victim: RunningJob, job: Job, now: datetime) -> RouterDecision:
        raise NotImplementedError

    def _plan(self, job: Job, types: list[str], now: datetime, node: int | None = None) -> PreemptionPlan | None:
        raise NotImplementedError

    def _level(self, job: Job) -> int:
        raise NotImplementedError

    def _serve_reservations(self, now: datetime) -> list[RouterDecision]:
        """Start each reserved job whose node has room now (preempting there if it fits nowhere else), else
        re-pick the GPUs it holds on that node."""
        decisions: list[RouterDecision] = []
        for held in list(self._reservations.by_job.values()):
            decisions += self._serve(held, now)
        return decisions

    def _serve(self, held: Reservation, now: datetime) -> list[RouterDecision]:
        waiting = self._waiting[held.job_id]
        job, policy = waiting.job, self.config.placement
        types = self._capacity.types_for(job.gpu_type)
        gpus, note, decisions = room_on_node(job, self._rooms(held.node)), "on its reservation", []
        stuck = gpus is None and self._may_preempt_on(held.node)
        if stuck and self._capacity.find(job.demand_milli, types, policy) is None:
            self._unhold(held)
            plan = self._plan(job, types, now, node=held.node)
            if plan is not None:
                decisions = [self._preempt(victim, job, now) for victim in plan.victims]
                gpus = room_on_node(job, self._capacity.free[held.node])
                if gpus is None:
                    raise RoutingError(f"preemption for reserved {job.job_id} freed no room on its node")
                note = f"on its reservation after preempting {len(plan.victims)} job(s)"
        if gpus is None:
            self._hold(held, now)
            return decisions
        self._unhold(held)
        slots = Slots(held.node, gpus, job.demand_milli if not job.whole_gpus else MILLI_PER_GPU)
        return decisions + self._start(waiting, slots, now, f"{policy.value} {note}")

    def _reserve(self, now: datetime) -> list[RouterDecision]:
        """Reserve for the highest-level, oldest overdue queued jobs, while fewer than `max_reservations` hold."""
        book, decisions = self._reservations, []
        book.collect_due(now, self._queue_key)
        for job_id, stint in book.candidates():
            if self._queue_key(job_id, stint) is None:
                del book.overdue[job_id]
                continue
            waiting = self._waiting[job_id]
            job, weakest = waiting.job, None
            if len(book.by_job) >= self.config.max_reservations:
                weakest = min(book.by_job.values(), key=lambda r: (r.level, -self._seqs[r.job_id]))
                if self._level(job) <= weakest.level:
                    break
            taken = book.nodes - ({weakest.node} if weakest else set())
            types = self._capacity.types_for(job.gpu_type)
            nodes = [i for i, n in enumerate(self._capacity.nodes) if n.gpu_type in types and i not in taken]
            plan = plan_reservation(job, now, self._capacity, nodes, self._on_node, frees_at_for(job, self.config))
            if plan is None:
                continue
            if weakest is not None:  # a strictly higher level takes over the weakest reservation's place
                why = f"superseded by higher-priority {job_id}; GPUs held on its node are freed"
                superseded = self._waiting[weakest.job_id]
                decisions.append(self._end_reservation(superseded.job, now, None, why))
                book.overdue[weakest.job_id] = (-weakest.level, self._seqs[weakest.job_id], superseded.stint)
            del book.overdue[job_id]
            book.by_job[job_id] = held = Reservation(job_id, self._level(job), plan.node, plan.gpus, now, None)
            self._hold(held, now)
            node = self._capacity.nodes[plan.node]
            wait = (now - waiting.since).total_seconds()
            start = held.expected_start.isoformat() if held.expected_start else "unknown (a running job has no end)"
            reason = (
                f"waited {wait:.0f}s (reserve after {self.config.reserve_after(job.qos_class):.0f}s) and cannot"
                f" start; holds GPU {','.join(map(str, held.gpus))} of {node.node_id} ({plan.free_now} with room now,"
                f" {plan.milli_to_drain} milli-GPU to drain), expected start {start}; other jobs may use them only"
                " if they end before then or outrank it"
            )
            decisions.append(RouterDecision(Kind.RESERVED, now, job, reason, node.node_id, job.gpus, wait))
        return decisions

    def _slots_in_reservation(self, job: Job, types: list[str], now: datetime) -> tuple[Slots, Reservation, str] | None:
        """Room for `job` on a reservation's held GPUs, if it outranks the reserved job or ends before the
        reservation's expected start (the holds of the reservation returned are lifted: re-hold after starting)."""
        level, ends = self._level(job), expected_end(job, now, self._reservations.ran_s.get(job.job_id, 0.0))
        for held in self._reservations.by_job.values():
            if held.job_id == job.job_id or self._capacity.nodes[held.node].gpu_type not in types:
                continue
            if level > held.level:
                why = f"on GPUs reserved for lower-priority {held.job_id}"
            elif held.expected_start is not None and ends is not None and ends <= held.expected_start:
                why = f"on GPUs reserved for {held.job_id}, ending before its expected start"
            else:
                continue
            gpus = room_on_node(job, self._rooms(held.node))
            if gpus is not None:
                self._unhold(held)
                return Slots(held.node, gpus, job.demand_milli if not job.whole_gpus else MILLI_PER_GPU), held, why
        return None

    def _hold(self, held: Reservation, now: datetime) -> None:
        """Re-pick and hold the GPUs of `held`'s node that have room for its job soonest."""
        if held.job_id not in self._reservations.by_job:
            return
        running = self._on_node[held.node]
        signature = (tuple(running), tuple(self._rooms(held.node)))
        if signature != held.signature:  # the node's jobs or free room changed: re-pick
            job = self._waiting[held.job_id].job
            plan = plan_on_node(job, now, self._capacity, held.node, running.values(), frees_at_for(job, self.config))
            if plan is None:
                raise RoutingError(f"reserved node of {held.job_id} has too few GPUs")
            self._unhold(held)
            held.gpus, held.expected_start, held.signature = plan.gpus, plan.expected_start, signature
        for gpu in held.gpus:
            self._capacity.hold(held.node, gpu)

    def _rooms(self, node: int) -> list[int]:
        """Free milli-GPUs of each GPU of `node`, held or not."""
        return [self._capacity.room(node, gpu) for gpu in range(len(self._capacity.free[node]))]

    def _may_preempt_on(self, node: int) -> bool:
        return self.config.preemption_enabled and node in self._preemptible_on[self._capacity.nodes[node].gpu_type]

    def _unhold(self, held: Reservation) -> None:
        for gpu in held.gpus:
            if (held.node, gpu) in self._capacity.held:
                self._capacity.unhold(held.node, gpu)

    def _end_reservation(
        self, job: Job, now: datetime, placed_on: int | None, why: str | None = None
    ) -> RouterDecision:
        held = self._reservations.by_job.pop(job.job_id)
        self._unhold(held)
        node_id = self._capacity.nodes[held.node].node_id
        waited = (now - held.made_at).total_seconds()
        if placed_on == held.node:
            reason = f"started on its reserved node {node_id} {waited:.0f}s after the reservation; hold ends"
            return RouterDecision(Kind.RESERVATION_HONOURED, now, job, reason, node_id, job.gpus)
        if placed_on is None:
            reason = why or f"withdrawn from the queue; GPUs held on {node_id} are freed"
        else:
            elsewhere = self._capacity.nodes[placed_on].node_id
            reason = f"started on {elsewhere} before its reserved node {node_id} had room; GPUs held there are freed"
        return RouterDecision(Kind.RESERVATION_RELEASED, now, job, reason, node_id, job.gpus)

    def _queue_key(self, job_id: str, stint: int) -> tuple[int, int] | None:
        """(-level, sequence) of a job queued in queue stint `stint`, else None."""
        waiting = self._waiting.get(job_id)
        if waiting is None or waiting.stint != stint:
            return None
        return -self._level(waiting.job), self._seqs[job_id]

    def _backfill_group(self, level: int, key: DemandKey, head_id: str, now: datetime) -> list[RouterDecision]:
        """Start the jobs of a blocked group (after its head) that end before a reservation's expected start, on
        its held GPUs, oldest first, while room lasts: jobs of one group differ only in duration."""
        types, shape = self._capacity.types_for(key[0]), self._waiting[head_id].job
        starts = [
            r.expected_start
            for r in self._reservations.by_job.values()
            if r.expected_start is not None
            and self._capacity.nodes[r.node].gpu_type in types
            and room_on_node(shape, self._rooms(r.node)) is not None
        ]
        if not starts:  # no reservation with a known start has room for this shape
            return []
        latest, decisions = max(starts), []
        for _, job_id in self._queue.members(level, key):
            waiting = self._waiting[job_id]
            ends = expected_end(waiting.job, now, self._reservations.ran_s.get(job_id, 0.0))
            if job_id == head_id or ends is None or ends > latest:
                continue
            within = self._slots_in_reservation(waiting.job, types, now)
            if within is None:
                break
            slots, held, why = within
            decisions += self._start(waiting, slots, now, f"{self.config.placement.value} {why}")
            self._hold(held, now)
        return decisions
