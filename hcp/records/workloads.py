"""AI workload requests submitted by customers."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from hcp.records.base import Record


class QosClass(StrEnum):
    """Quality-of-service classes, as in the Alibaba GPU trace."""

    LS = "LS"
    BE = "BE"
    BURSTABLE = "Burstable"
    GUARANTEED = "Guaranteed"


class WorkloadRequest(Record):
    """Topic `workloads.requests`, key `customer_id`: one job submitted (grain: job)."""

    topic: ClassVar[str] = "workloads.requests"

    job_id: str = Field(min_length=1, max_length=128)
    customer_id: str = Field(min_length=1, max_length=40)
    gpu_type: str = Field(description="GPU type wanted, e.g. 'H100'")
    gpu_count: int = Field(ge=1, le=64)
    priority: int = Field(ge=0, le=9, description="0 lowest, 9 highest")
    qos_class: QosClass | None = Field(None, description="declared class; absent means: classify it")
    preemptible: bool = Field(description="may be paused to make room for higher-priority work")
    expected_duration_s: float = Field(gt=0, le=30 * 86400, description="expected run time, seconds")
    cpu_milli: int | None = Field(
        None, ge=0, le=10_000_000, description="CPU requested, milli-cores (optional; the workload classifier uses it)"
    )
    memory_mib: int | None = Field(
        None, ge=0, le=100_000_000, description="memory requested, MiB (optional; the workload classifier uses it)"
    )
