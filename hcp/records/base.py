"""What every record on every topic shares."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Record(BaseModel):
    """Base of every topic's record class: frozen, strict about unknown fields, timezone-aware times.

    `event_id` is unique per event and stable across retries (the producer derives it from what the event is,
    never from when it was sent), so landing and billing can deduplicate on it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_max_length=512)

    topic: ClassVar[str]

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION, description="record schema version")
    event_id: str = Field(min_length=1, max_length=128, description="unique id of this event")
    event_time: AwareDatetime = Field(description="when the event happened (simulated time in the demo)")

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
