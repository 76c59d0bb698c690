"""Turning message bytes into validated records, with one error type for every way that can fail."""

from __future__ import annotations

from pydantic import ValidationError

from hcp.exceptions import RecordError
from hcp.records import Record
from hcp.topics import TOPICS

# Larger messages are rejected (dead-lettered). Kafka's own default limit is about 1 MB too; the largest
# telemetry poll of the demo is about 60 kB.
MAX_MESSAGE_BYTES = 1_000_000


def decode_record(topic: str, payload: bytes | None) -> Record:
    """Parse and validate `payload` as a record of `topic`, or raise `RecordError` saying why not."""
    spec = TOPICS.get(topic)
    if spec is None or spec.record is None:
        raise RecordError(topic, "no record class for this topic")
    if payload is None:
        raise RecordError(topic, "empty message (no value)")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise RecordError(topic, f"message of {len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        return spec.record.model_validate_json(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "value"
        raise RecordError(topic, f"{err.error_count()} error(s); first at {where}: {first['msg']}") from err
