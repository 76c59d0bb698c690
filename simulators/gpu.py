"""Simulated GPU fleet: queued AI jobs placed on free GPUs, run for their expected duration, and telemetry per
collector. Until the platform's router places jobs, the simulator places them itself: highest priority first,
then first fit by GPU type and free GPUs at any site, in fleet order."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from hcp.economics import GPU_MODELS
from hcp.fleet import Fleet
from hcp.records import GpuTelemetry, WorkloadRequest
from simulators.devices import CollectorLayout, ambient_temp_c, layout_collectors

log = logging.getLogger(__name__)

ECC_ERRORS_PER_GPU_POLL = 2e-4


@dataclass(frozen=True)
class RunningJob:
    """A job placed on GPUs, and when it ends."""

    request: WorkloadRequest
    gpus: tuple[int, ...]
    started: datetime
    ends: datetime
    memory_fraction: float


class GpuFleetSimulator:
    """Every GPU of the fleet, the job queue, and the collectors that report them."""

    def __init__(self, fleet: Fleet, telemetry_interval_s: float, rng: np.random.Generator) -> None:
        self.telemetry_interval_s = telemetry_interval_s
        self._rng = rng
        self._layouts: list[tuple[CollectorLayout, int, list[int]]] = []
        self._device_ids: list[str] = []
        self._types: list[str] = []
        self._pools: dict[tuple[str, str], list[int]] = {}  # (site_id, gpu type) -> GPU indices, fleet order
        for site_index, site in enumerate(fleet.sites):
            for layout in layout_collectors(site, site.gpus, "gpu"):
                indices = list(range(len(self._device_ids), len(self._device_ids) + len(layout.device_ids)))
                self._layouts.append((layout, site_index, indices))
                self._device_ids.extend(layout.device_ids)
                self._types.extend(layout.models)
                for index, model in zip(indices, layout.models, strict=True):
                    self._pools.setdefault((site.site_id, model), []).append(index)
        self._job_on: list[str | None] = [None] * len(self._device_ids)
        self._queue: list[tuple[int, WorkloadRequest]] = []
        self._submitted = 0
        self.running: dict[str, RunningJob] = {}
        self.finished: list[str] = []
        self.rejected: list[str] = []

    @property
    def queued_job_ids(self) -> list[str]:
        return [request.job_id for _, request in self._queue]

    def devices_of(self, job_id: str) -> tuple[str, ...]:
        return tuple(self._device_ids[i] for i in self.running[job_id].gpus)

    def submit(self, request: WorkloadRequest, now: datetime) -> bool:
        """Queue a job and place what fits; False (and the job is rejected) if no site could ever run it."""
        largest = max((len(p) for (_, t), p in self._pools.items() if t == request.gpu_type), default=0)
        if request.gpu_count > largest:
            log.info("rejecting job %s: no site has %d %s GPUs", request.job_id, request.gpu_count, request.gpu_type)
            self.rejected.append(request.job_id)
            return False
        self._queue.append((self._submitted, request))
        self._submitted += 1
        self.place_queued(now)
        return True

    def release_finished(self, now: datetime) -> list[str]:
        """Free the GPUs of jobs whose expected duration has passed; return their ids."""
        done = [job_id for job_id, job in self.running.items() if job.ends <= now]
        for job_id in done:
            for index in self.running.pop(job_id).gpus:
                self._job_on[index] = None
        self.finished.extend(done)
        return done

    def place_queued(self, now: datetime) -> list[str]:
        """Place queued jobs, highest priority (then oldest) first, each on the first site with room."""
        placed: list[str] = []
        for entry in sorted(self._queue, key=lambda e: (-e[1].priority, e[0])):
            request = entry[1]
            for (_, gpu_type), pool in self._pools.items():
                if gpu_type != request.gpu_type:
                    continue
                free = [i for i in pool if self._job_on[i] is None]
                if len(free) >= request.gpu_count:
                    self._start(request, tuple(free[: request.gpu_count]), now)
                    self._queue.remove(entry)
                    placed.append(request.job_id)
                    break
        return placed

    def _start(self, request: WorkloadRequest, gpus: tuple[int, ...], now: datetime) -> None:
        for index in gpus:
            self._job_on[index] = request.job_id
        # Memory use is a property of the job, stable across polls: derive it from the job id.
        memory_fraction = 0.5 + 0.45 * (zlib.crc32(request.job_id.encode()) % 1000) / 1000
        ends = now + timedelta(seconds=request.expected_duration_s)
        self.running[request.job_id] = RunningJob(request, gpus, now, ends, memory_fraction)

    def poll(self, now: datetime) -> list[GpuTelemetry]:
        """Finish and place jobs, then one telemetry message per collector with every GPU's reading."""
        self.release_finished(now)
        self.place_queued(now)
        return [self._poll_collector(layout, site_index, indices, now) for layout, site_index, indices in self._layouts]

    def _poll_collector(
        self, layout: CollectorLayout, site_index: int, indices: list[int], now: datetime
    ) -> GpuTelemetry:
        n = len(indices)
        noise = self._rng.random((4, n))
        jobs = [self.running[j] if (j := self._job_on[i]) else None for i in indices]
        busy = np.array([job is not None for job in jobs])
        board_w = np.array([GPU_MODELS[m].power_w for m in layout.models])
        memory_total = np.array([GPU_MODELS[m].memory_gib for m in layout.models])
        memory_fraction = np.array([job.memory_fraction if job else 0.0 for job in jobs])
        utilisation = np.where(busy, 85.0 + 14.0 * noise[0], 2.0 * noise[0])
        memory = np.where(busy, memory_total * memory_fraction, 0.5)
        power = board_w * (0.1 + 0.85 * utilisation / 100.0) * (0.98 + 0.04 * noise[1])
        temp = ambient_temp_c(site_index, now.timestamp()) + 8.0 + 45.0 * power / board_w + 2.0 * noise[2]
        ecc = (noise[3] < ECC_ERRORS_PER_GPU_POLL).astype(int)
        readings = []
        for k, job in enumerate(jobs):
            readings.append(
                {
                    "device_id": layout.device_ids[k],
                    "gpu_type": layout.models[k],
                    "utilisation_pct": round(float(utilisation[k]), 1),
                    "memory_used_gib": round(float(memory[k]), 2),
                    "memory_total_gib": float(memory_total[k]),
                    "power_w": round(float(power[k]), 1),
                    "temp_c": round(float(temp[k]), 1),
                    "ecc_errors": int(ecc[k]),
                    "job_id": job.request.job_id if job else None,
                    "customer_id": job.request.customer_id if job else None,
                    "priority": job.request.priority if job else None,
                }
            )
        return GpuTelemetry.model_validate(
            {
                "event_id": f"{layout.collector_id}:{int(now.timestamp())}",
                "event_time": now,
                "site_id": layout.site_id,
                "collector_id": layout.collector_id,
                "interval_s": self.telemetry_interval_s,
                "readings": readings,
            }
        )
