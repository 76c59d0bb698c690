"""What the router works on: jobs, nodes, its configuration and the decisions it returns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass, WorkloadRequest
from hcp.routing.classification import Classify, resolve_class
from hcp.routing.exceptions import RoutingError

MILLI_PER_GPU = 1000
PRIORITY_LEVELS = 10


@dataclass(frozen=True)
class Job:
    """One GPU job. `gpus` is a whole count, or a share of one GPU (0.47 = 470 milli-GPU) as in the Alibaba trace.

    A fractional job runs on one GPU shared with others; a job of more than one GPU takes whole GPUs of one node.
    `gpu_type` None means any type. Priority 0 is lowest, 9 highest.
    """

    job_id: str
    customer_id: str
    gpu_type: str | None
    gpus: float
    priority: int
    qos_class: QosClass
    preemptible: bool
    submitted_at: datetime
    expected_duration_s: float | None = None
    class_note: str | None = None
    """How the class was chosen when it was not declared (predicted, with its probability); None if declared."""

    def __post_init__(self) -> None:
        if not self.job_id:
            raise RoutingError("a job needs a non-empty job_id")
        if not 0 < self.gpus <= 64:
            raise RoutingError(f"job {self.job_id}: gpus must be in (0, 64], got {self.gpus}")
        if self.gpus > 1 and not float(self.gpus).is_integer():
            raise RoutingError(f"job {self.job_id}: more than one GPU must be a whole count, got {self.gpus}")
        if round(self.gpus * MILLI_PER_GPU) < 1:
            raise RoutingError(f"job {self.job_id}: gpus below one milli-GPU, got {self.gpus}")
        if not 0 <= self.priority < PRIORITY_LEVELS:
            raise RoutingError(f"job {self.job_id}: priority must be 0..9, got {self.priority}")
        if self.submitted_at.tzinfo is None:
            raise RoutingError(f"job {self.job_id}: submitted_at must be timezone-aware")
        if self.expected_duration_s is not None and not (
            math.isfinite(self.expected_duration_s) and self.expected_duration_s >= 0
        ):
            raise RoutingError(f"job {self.job_id}: expected_duration_s must be >= 0, got {self.expected_duration_s}")

    @property
    def demand_milli(self) -> int:
        """GPU demand in milli-GPUs (1000 = one whole GPU)."""
        return round(self.gpus * MILLI_PER_GPU)

    @property
    def whole_gpus(self) -> int:
        """Whole GPUs this job takes; 0 for a share of one GPU."""
        return 0 if self.demand_milli < MILLI_PER_GPU else self.demand_milli // MILLI_PER_GPU


def job_from_request(
    request: WorkloadRequest,
    submitted_at: datetime,
    default_qos: QosClass = QosClass.BE,
    classify: Classify | None = None,
    ls_confidence: float = 0.8,
) -> Job:
    """The router's job for a `workloads.requests` record. An unclassified request takes the class `classify`
    predicts (see `hcp.routing.classification.resolve_class`), or `default_qos` without a classifier."""
    resolved = resolve_class(request, classify, ls_confidence, default_qos)
    return Job(
        job_id=request.job_id,
        customer_id=request.customer_id,
        gpu_type=request.gpu_type,
        gpus=float(request.gpu_count),
        priority=request.priority,
        qos_class=resolved.qos_class,
        preemptible=resolved.preemptible,
        submitted_at=submitted_at,
        expected_duration_s=request.expected_duration_s,
        class_note=resolved.note,
    )


@dataclass(frozen=True)
class Node:
    """A GPU server: `gpus` GPUs of one type."""

    node_id: str
    gpu_type: str
    gpus: int

    def __post_init__(self) -> None:
        if not self.node_id or not self.gpu_type:
            raise RoutingError(f"a node needs an id and a GPU type, got {self.node_id!r}, {self.gpu_type!r}")
        if not 1 <= self.gpus <= 64:
            raise RoutingError(f"node {self.node_id}: gpus must be 1..64, got {self.gpus}")


class PlacementPolicy(StrEnum):
    """Which node a job goes to among those where it fits."""

    BEST_FIT = "best_fit"
    FIRST_FIT = "first_fit"


def _default_sla_s() -> dict[QosClass, float]:
    return {QosClass.GUARANTEED: 60.0, QosClass.LS: 60.0, QosClass.BURSTABLE: 1800.0, QosClass.BE: 14400.0}


@dataclass(frozen=True)
class RouterConfig:
    """How the router queues, places and preempts.

    - `sla_s`: the longest queue wait each QoS class accepts, seconds (> 0); waiting that long is a breach.
    - `min_runtime_s`: a job must have run this long (since its latest start) before it may be preempted.
    - `ls_protected_priority`: latency-sensitive jobs at or above this priority are never preempted.
    - `placement`: best fit (tightest node, limits fragmentation) or first fit (lowest node).
    - `use_priorities`: False puts every job in one FIFO level (the baseline).
    - `preemption_enabled`: False never preempts (the baseline).
    - `reservations_enabled`: True holds GPUs for the highest-priority, oldest job that has waited
      `reserve_after_s` (default: its class's SLA) so that backfill cannot starve it (docs/routing.md).
    - `reserve_after_s`: queue wait per class after which a job may get a reservation; None uses `sla_s`.
    - `max_reservations`: how many reservations (each on its own node) may hold at once.
    """

    sla_s: Mapping[QosClass, float] = field(default_factory=_default_sla_s)
    min_runtime_s: float = 600.0
    ls_protected_priority: int = 5
    placement: PlacementPolicy = PlacementPolicy.BEST_FIT
    use_priorities: bool = True
    preemption_enabled: bool = True
    reservations_enabled: bool = False
    reserve_after_s: Mapping[QosClass, float] | None = None
    max_reservations: int = 1

    def __post_init__(self) -> None:
        missing = [q.value for q in QosClass if q not in self.sla_s]
        if missing:
            raise ConfigError(f"router sla_s lacks classes {missing}")
        bad = {q.value: s for q, s in self.sla_s.items() if not s > 0}
        if bad:
            raise ConfigError(f"router sla_s must be > 0 seconds, got {bad}")
        if self.min_runtime_s < 0:
            raise ConfigError(f"router min_runtime_s must be >= 0, got {self.min_runtime_s}")
        if not 0 <= self.ls_protected_priority < PRIORITY_LEVELS:
            raise ConfigError(f"router ls_protected_priority must be 0..9, got {self.ls_protected_priority}")
        if self.reserve_after_s is not None:
            missing = [q.value for q in QosClass if q not in self.reserve_after_s]
            negative = {q.value: s for q, s in self.reserve_after_s.items() if not s >= 0}
            if missing or negative:
                raise ConfigError(
                    f"router reserve_after_s needs every class, each >= 0 s; lacks {missing}, bad {negative}"
                )
        if not 1 <= self.max_reservations <= 64:
            raise ConfigError(f"router max_reservations must be 1..64, got {self.max_reservations}")

    def reserve_after(self, qos_class: QosClass) -> float:
        """Queue wait after which a job of `qos_class` may get a reservation, seconds."""
        after = self.sla_s if self.reserve_after_s is None else self.reserve_after_s
        return after[qos_class]

    @classmethod
    def fifo_baseline(cls) -> RouterConfig:
        """Plain FIFO first fit: one level, no preemption, same SLAs (the comparison in the replay)."""
        return cls(placement=PlacementPolicy.FIRST_FIT, use_priorities=False, preemption_enabled=False)


class DecisionKind(StrEnum):
    """What happened to a job."""

    PLACED = "placed"
    QUEUED = "queued"
    PREEMPTED = "preempted"
    REJECTED = "rejected"
    SLA_BREACH = "sla_breach"
    RESERVED = "reserved"
    """GPUs of one node are held for a queued job that waited too long (backfill may not take them)."""
    RESERVATION_HONOURED = "reservation_honoured"
    """The job started on its reserved node; the hold ends."""
    RESERVATION_RELEASED = "reservation_released"
    """The hold ended without the job starting there (it started elsewhere or was withdrawn)."""


@dataclass(frozen=True)
class RouterDecision:
    """One decision with its reason. `queue_wait_s` is the wait of the current queue stint (None if not queued)."""

    kind: DecisionKind
    at: datetime
    job: Job
    reason: str
    node_id: str | None = None
    gpus: float = 0.0
    queue_wait_s: float | None = None
