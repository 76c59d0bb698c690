"""Synthetic AI jobs from the fleet's customers: Poisson arrivals, or the arrival times of a recorded trace.

Attributes are seeded: customer by share, GPU type by installed count, 1-8 GPUs (never more than one site has),
priority 0-9 with a QoS class and preemptibility that follow from it, log-normal durations (minutes to hours).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from hcp.exceptions import ConfigError
from hcp.fleet import Fleet
from hcp.records import QosClass, WorkloadRequest

GPU_COUNTS = np.array([1, 2, 4, 8])
GPU_COUNT_WEIGHTS = np.array([0.45, 0.25, 0.18, 0.12])
PRIORITY_WEIGHTS = np.array([0.12, 0.12, 0.12, 0.12, 0.1, 0.1, 0.1, 0.08, 0.07, 0.07])
MEDIAN_DURATION_S, DURATION_SIGMA = 1800.0, 1.0
DURATION_BOUNDS_S = (120.0, 12 * 3600.0)
UNCLASSIFIED_SHARE = 0.2
"""Share of jobs sent without a declared QoS class: the router classifies them (models.live)."""
TYPICAL_REQUESTS: dict[QosClass, tuple[tuple[int, int], ...]] = {
    QosClass.BE: ((3152, 5600), (8000, 30517), (4000, 15258)),
    QosClass.LS: ((11300, 49152), (11908, 47104), (11400, 48128)),
    QosClass.BURSTABLE: ((12000, 24576), (88000, 327680), (7000, 30000)),
    QosClass.GUARANTEED: ((12000, 24576),),
}
"""(cpu_milli, memory_mib) requests most common per class in the Alibaba GPU trace (cluster-trace-gpu-v2023)."""


@dataclass(frozen=True)
class JobClass:
    qos_class: QosClass
    preemptible: bool


def classify_priority(priority: int) -> JobClass:
    """QoS that a job of this priority declares: 7-9 latency-sensitive, 5-6 guaranteed, 4 burstable, 0-3 best
    effort; only burstable and best-effort work may be preempted."""
    if priority >= 7:
        return JobClass(QosClass.LS, preemptible=False)
    if priority >= 5:
        return JobClass(QosClass.GUARANTEED, preemptible=False)
    if priority == 4:
        return JobClass(QosClass.BURSTABLE, preemptible=True)
    return JobClass(QosClass.BE, preemptible=True)


def read_arrival_offsets(path: Path) -> tuple[list[float], float]:
    """Seconds of each `gmt_create` after midnight (UTC) of the trace's first day, and the trace's whole-day span."""
    if not path.is_file():
        raise ConfigError(f"workload arrivals file not found: {path}")
    try:
        stamps = pl.read_csv(path, columns=["gmt_create"], try_parse_dates=True)["gmt_create"]
        if stamps.dtype == pl.String:
            stamps = stamps.str.to_datetime()
    except (pl.exceptions.PolarsError, OSError, ValueError) as err:
        raise ConfigError(f"cannot read arrival times (column gmt_create) from {path}: {err}") from err
    stamps = stamps.drop_nulls().sort()
    if not len(stamps):
        raise ConfigError(f"{path} has no arrival times")
    midnight = stamps[0].replace(hour=0, minute=0, second=0, microsecond=0)
    offsets = [(s - midnight).total_seconds() for s in stamps]
    return offsets, math.ceil((offsets[-1] + 1) / 86400) * 86400.0


class WorkloadGenerator:
    """Jobs arriving from `start` (by default the time of the first `requests_due` call)."""

    def __init__(
        self,
        fleet: Fleet,
        jobs_per_hour: float,
        seed: int,
        arrivals_file: Path | None = None,
        *,
        start: datetime | None = None,
    ) -> None:
        self._seed = seed
        self._jobs_per_hour = jobs_per_hour
        self._customers = [c.customer_id for c in fleet.customers]
        shares = np.array([c.share for c in fleet.customers])
        self._customer_weights = shares / shares.sum()
        installed: dict[str, int] = {}
        self._largest: dict[str, int] = {}
        for site in fleet.sites:
            for group in site.gpus:
                installed[group.model] = installed.get(group.model, 0) + group.count
            for model in {g.model for g in site.gpus}:
                at_site = sum(g.count for g in site.gpus if g.model == model)
                self._largest[model] = max(self._largest.get(model, 0), at_site)
        self._gpu_types = sorted(installed)
        counts = np.array([installed[t] for t in self._gpu_types], dtype=float)
        self._gpu_weights = counts / counts.sum() if len(counts) else counts
        self._attribute_rng = np.random.default_rng([seed, 5])
        self._arrival_rng = np.random.default_rng([seed, 6])
        self._request_rng = np.random.default_rng([seed, 8])  # apart, so the other attributes keep their draws
        self._trace = read_arrival_offsets(arrivals_file) if arrivals_file else None
        self._start = start
        self._arrivals: Iterator[datetime] | None = None
        self._next: datetime | None = None
        self._sequence = 0

    def _poisson_arrivals(self, start: datetime) -> Iterator[datetime]:
        if self._jobs_per_hour <= 0:
            return
        moment = start
        while True:
            moment += timedelta(seconds=float(self._arrival_rng.exponential(3600.0 / self._jobs_per_hour)))
            yield moment

    def _trace_arrivals(self, start: datetime, offsets: list[float], period_s: float) -> Iterator[datetime]:
        midnight = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)
        cycle = 0
        while True:
            for offset in offsets:
                moment = midnight + timedelta(seconds=cycle * period_s + offset)
                if moment >= start:
                    yield moment
            cycle += 1

    def requests_due(self, now: datetime) -> list[WorkloadRequest]:
        """Every job that arrived at or before `now` and was not returned yet, in arrival order."""
        if self._arrivals is None:
            start = self._start or now
            self._arrivals = self._trace_arrivals(start, *self._trace) if self._trace else self._poisson_arrivals(start)
            self._next = next(self._arrivals, None)
        due: list[WorkloadRequest] = []
        while self._gpu_types and self._next is not None and self._next <= now:
            due.append(self._make_request(self._next))
            self._next = next(self._arrivals, None)
        return due

    def _make_request(self, arrival: datetime) -> WorkloadRequest:
        rng = self._attribute_rng
        customer = self._customers[rng.choice(len(self._customers), p=self._customer_weights)]
        gpu_type = self._gpu_types[rng.choice(len(self._gpu_types), p=self._gpu_weights)]
        gpu_count = int(rng.choice(GPU_COUNTS, p=GPU_COUNT_WEIGHTS))
        priority = int(rng.choice(len(PRIORITY_WEIGHTS), p=PRIORITY_WEIGHTS))
        duration = float(
            np.clip(MEDIAN_DURATION_S * math.exp(DURATION_SIGMA * rng.standard_normal()), *DURATION_BOUNDS_S)
        )
        job_class = classify_priority(priority)
        typical = TYPICAL_REQUESTS[job_class.qos_class]
        cpu_milli, memory_mib = typical[int(self._request_rng.integers(len(typical)))]
        declared = self._request_rng.random() >= UNCLASSIFIED_SHARE
        self._sequence += 1
        job_id = f"job-s{self._seed}-{int(arrival.timestamp())}-{self._sequence:06d}"
        return WorkloadRequest(
            event_id=job_id,
            event_time=arrival,
            job_id=job_id,
            customer_id=customer,
            gpu_type=gpu_type,
            gpu_count=min(gpu_count, self._largest[gpu_type]),
            priority=priority,
            qos_class=job_class.qos_class if declared else None,
            preemptible=job_class.preemptible,
            expected_duration_s=round(duration, 1),
            cpu_milli=cpu_milli,
            memory_mib=memory_mib,
        )
