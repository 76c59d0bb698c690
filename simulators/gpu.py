"""Simulated GPU fleet: jobs run on the GPUs of a node for a given time, and telemetry per collector.

The platform's router places and preempts jobs with `place_job` and `preempt_job` commands; a job whose time is up
ends by itself and its GPUs go idle (telemetry shows it: no job id, low utilisation). `simulators.scheduler`
places jobs without the platform instead, when the simulator is set to schedule locally."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from hcp.economics import GPU_MODELS
from hcp.fleet import Fleet, GpuNode, gpu_nodes
from hcp.records import ControlCommand, GpuTelemetry
from simulators.devices import CollectorLayout, ambient_temp_c, layout_collectors
from simulators.exceptions import TargetBusyError, UnknownTargetError

log = logging.getLogger(__name__)

ECC_ERRORS_PER_GPU_POLL = 2e-4
IDLE_POWER_FRACTION = 0.1
"""Board power of an idle GPU, as a share of its rated power (busy ones draw up to 0.95)."""


@dataclass(frozen=True)
class RunningJob:
    """A job placed on GPUs, and when it ends."""

    job_id: str
    customer_id: str | None
    priority: int | None
    gpus: tuple[int, ...]
    started: datetime
    ends: datetime
    memory_fraction: float


class GpuFleetSimulator:
    """Every GPU of the fleet, grouped in the nodes of `hcp.fleet.gpu_nodes`, the jobs running on them, and the
    collectors that report them. Jobs start by `place` (a `place_job` command) or by `start_job` (the local
    scheduler), and stop at their end, or by `preempt`."""

    def __init__(self, fleet: Fleet, telemetry_interval_s: float, rng: np.random.Generator) -> None:
        self.telemetry_interval_s = telemetry_interval_s
        self._rng = rng
        self._layouts: list[tuple[CollectorLayout, int, list[int]]] = []
        self._device_ids: list[str] = []
        self._sites: list[str] = []
        self.pools: dict[tuple[str, str], list[int]] = {}
        """GPU indices of each (site_id, GPU type), in fleet order."""
        for site_index, site in enumerate(fleet.sites):
            for layout in layout_collectors(site, site.gpus, "gpu"):
                indices = list(range(len(self._device_ids), len(self._device_ids) + len(layout.device_ids)))
                self._layouts.append((layout, site_index, indices))
                self._device_ids.extend(layout.device_ids)
                self._sites.extend([site.site_id] * len(indices))
                for index, model in zip(indices, layout.models, strict=True):
                    self.pools.setdefault((site.site_id, model), []).append(index)
        index_of = {device_id: index for index, device_id in enumerate(self._device_ids)}
        self.nodes: dict[str, GpuNode] = {node.node_id: node for site in fleet.sites for node in gpu_nodes(site)}
        self._node_gpus = {node_id: [index_of[d] for d in node.device_ids] for node_id, node in self.nodes.items()}
        self._job_on: list[str | None] = [None] * len(self._device_ids)
        self.running: dict[str, RunningJob] = {}
        self.finished: list[str] = []
        self.preempted: list[str] = []

    def devices_of(self, job_id: str) -> tuple[str, ...]:
        return tuple(self._device_ids[i] for i in self.running[job_id].gpus)

    def is_free(self, index: int) -> bool:
        return self._job_on[index] is None

    def free_gpus(self, node_id: str) -> tuple[str, ...]:
        """Device ids of the node's GPUs that run nothing, in device order."""
        return tuple(self._device_ids[i] for i in self._node_gpus[node_id] if self._job_on[i] is None)

    def place(self, command: ControlCommand, now: datetime) -> tuple[str, ...]:
        """Run a `place_job` command's job on the first `gpu_count` free GPUs of its node for `run_seconds`;
        return their device ids. Raises `UnknownTargetError` for a node not at the command's site and
        `TargetBusyError` when the job already runs or the node has too few free GPUs."""
        node = self.nodes.get(command.node_id or "")
        if node is None or node.site_id != command.site_id:
            raise UnknownTargetError(f"command {command.command_id}: no node {command.node_id!r} at {command.site_id}")
        job_id, wanted = command.job_id or "", command.gpu_count or 0
        # The platform counts a job's run time from its decision (the command's event time); so does the site,
        # so both agree when GPUs come free even though the command arrives a little later.
        started = min(command.event_time, now)
        self.release_finished(now)
        if job_id in self.running:
            raise TargetBusyError(f"command {command.command_id}: job {job_id} already runs")
        free = [i for i in self._node_gpus[node.node_id] if self._job_on[i] is None]
        if len(free) < wanted:
            raise TargetBusyError(
                f"command {command.command_id}: job {job_id} needs {wanted} GPUs, "
                f"node {node.node_id} has {len(free)} free"
            )
        seconds = command.run_seconds or 0.0
        self.start_job(job_id, command.customer_id, command.priority, tuple(free[:wanted]), seconds, started)
        return self.devices_of(job_id)

    def preempt(self, command: ControlCommand, now: datetime) -> tuple[str, ...]:
        """Stop a `preempt_job` command's job and free its GPUs; return their device ids. Raises
        `TargetBusyError` when the job does not run (it may have just finished) or runs at another site."""
        job = self.running.get(command.job_id or "")
        if job is None or self._sites[job.gpus[0]] != command.site_id:
            raise TargetBusyError(
                f"command {command.command_id}: job {command.job_id} does not run at {command.site_id}"
            )
        devices = self.devices_of(job.job_id)
        self._stop(job.job_id)
        self.preempted.append(job.job_id)
        log.debug("preempted job %s at %s, freeing %d GPU(s)", job.job_id, now.isoformat(), len(devices))
        return devices

    def start_job(
        self,
        job_id: str,
        customer_id: str | None,
        priority: int | None,
        gpus: tuple[int, ...],
        run_seconds: float,
        now: datetime,
    ) -> None:
        """Run a job on free GPUs (by index) for `run_seconds` from `now`."""
        for index in gpus:
            self._job_on[index] = job_id
        # Memory use is a property of the job, stable across polls: derive it from the job id.
        memory_fraction = 0.5 + 0.45 * (zlib.crc32(job_id.encode()) % 1000) / 1000
        ends = now + timedelta(seconds=run_seconds)
        self.running[job_id] = RunningJob(job_id, customer_id, priority, gpus, now, ends, memory_fraction)

    def release_finished(self, now: datetime) -> list[str]:
        """Free the GPUs of jobs whose run time has passed; return their ids."""
        done = [job_id for job_id, job in self.running.items() if job.ends <= now]
        for job_id in done:
            self._stop(job_id)
        self.finished.extend(done)
        return done

    def _stop(self, job_id: str) -> None:
        for index in self.running.pop(job_id).gpus:
            self._job_on[index] = None

    def poll(self, now: datetime) -> list[GpuTelemetry]:
        """Finish jobs that are done, then one telemetry message per collector with every GPU's reading."""
        self.release_finished(now)
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
        power = board_w * (IDLE_POWER_FRACTION + 0.85 * utilisation / 100.0) * (0.98 + 0.04 * noise[1])
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
                    "job_id": job.job_id if job else None,
                    "customer_id": job.customer_id if job else None,
                    "priority": job.priority if job else None,
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
