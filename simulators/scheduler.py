"""The simulator's own job placement, for runs without the platform's router (`gpu_scheduler='local'`): queued jobs,
highest priority (then oldest) first, each on the first GPUs of its type that are free at one site, in fleet order.
No preemption."""

from __future__ import annotations

import logging
from datetime import datetime

from hcp.records import WorkloadRequest
from simulators.gpu import GpuFleetSimulator

log = logging.getLogger(__name__)


class LocalScheduler:
    """A job queue in front of `gpus`."""

    def __init__(self, gpus: GpuFleetSimulator) -> None:
        self._gpus = gpus
        self._queue: list[tuple[int, WorkloadRequest]] = []
        self._submitted = 0
        self.rejected: list[str] = []

    @property
    def queued_job_ids(self) -> list[str]:
        return [request.job_id for _, request in self._queue]

    def submit(self, request: WorkloadRequest, now: datetime) -> bool:
        """Queue a job and place what fits; False (and the job is rejected) if no site could ever run it."""
        largest = max((len(p) for (_, t), p in self._gpus.pools.items() if t == request.gpu_type), default=0)
        if request.gpu_count > largest:
            log.info("rejecting job %s: no site has %d %s GPUs", request.job_id, request.gpu_count, request.gpu_type)
            self.rejected.append(request.job_id)
            return False
        self._queue.append((self._submitted, request))
        self._submitted += 1
        self.place_queued(now)
        return True

    def place_queued(self, now: datetime) -> list[str]:
        """Place queued jobs, highest priority (then oldest) first, each on the first site with room."""
        placed: list[str] = []
        for entry in sorted(self._queue, key=lambda e: (-e[1].priority, e[0])):
            request = entry[1]
            for (_, gpu_type), pool in self._gpus.pools.items():
                if gpu_type != request.gpu_type:
                    continue
                free = [i for i in pool if self._gpus.is_free(i)]
                if len(free) >= request.gpu_count:
                    self._gpus.start_job(
                        request.job_id,
                        request.customer_id,
                        request.priority,
                        tuple(free[: request.gpu_count]),
                        request.expected_duration_s,
                        now,
                    )
                    self._queue.remove(entry)
                    placed.append(request.job_id)
                    break
        return placed
