"""What the stream meter publishes: the billable GPU-seconds of each GPU telemetry poll."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hcp.records.base import Record


class UsageLine(BaseModel):
    """GPU-seconds of one customer, GPU type and priority in one poll (its site and UTC hour)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    customer_id: str = Field(min_length=1, max_length=40)
    gpu_type: str = Field(min_length=1, max_length=32)
    priority: int = Field(ge=0, le=9)
    hour_start: AwareDatetime = Field(description="UTC hour the poll's event_time falls in")
    gpu_seconds: float = Field(gt=0, le=3600 * 100_000, description="GPUs busy with the customer's jobs x interval_s")


class MeteredUsage(Record):
    """Topic `billing.usage`, key `site_id`: the billable usage the stream meter found in one `telemetry.gpu` poll
    (grain: poll). `event_id` is `meter:<the poll's event_id>`, so a poll delivered twice meters once downstream;
    polls without billable usage publish nothing."""

    topic: ClassVar[str] = "billing.usage"

    source_event_id: str = Field(min_length=1, max_length=128, description="event_id of the telemetry.gpu poll")
    source_partition: int = Field(ge=0, description="telemetry.gpu partition the poll was read from")
    source_offset: int = Field(ge=0, description="its offset there")
    site_id: str = Field(min_length=1, max_length=40)
    lines: tuple[UsageLine, ...] = Field(min_length=1, max_length=10_000)
