"""Telemetry columns for the agents that read the same messages as the fleet agent (alert rules, billing meter).

`decode_telemetry_shared` decodes with `hcp.telemetry_columns.decode_telemetry` and shares the verdict through
the worker's `VerdictMemo`; `readings_at` turns the few rows a caller needs one by one back into reading records.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from pydantic import BaseModel

from hcp.exceptions import RecordError
from hcp.records import AsicReading, GpuReading
from hcp.telemetry_columns import (
    LAYOUTS,
    RECENT_VERDICTS,
    TelemetryColumns,
    VerdictMemo,
    decode_telemetry,
)
from hcp.topics import TELEMETRY_ASIC


def decode_telemetry_shared(
    topic: str, payload: bytes | None, origin: tuple[int, int] | None = None, memo: VerdictMemo = RECENT_VERDICTS
) -> TelemetryColumns:
    """`decode_telemetry` for one of several agents of a worker reading the same message.

    With `origin` (partition, offset): a message another agent already found invalid raises its `RecordError`
    without being decoded again, and this decode's verdict is noted in `memo` for the others (the landing agent).
    """
    if origin is not None:
        verdict = memo.recall(topic, *origin, payload)
        if isinstance(verdict, RecordError):
            raise verdict
    try:
        columns = decode_telemetry(topic, payload)
    except RecordError as err:
        if origin is not None:
            memo.remember(topic, *origin, payload, err)
        raise
    if origin is not None and verdict is None:
        memo.remember(topic, *origin, payload, (columns.event_id, columns.event_time))
    return columns


def readings_at(columns: TelemetryColumns, rows: Sequence[int]) -> list[BaseModel]:
    """The readings at `rows` as their record class (`AsicReading`, `GpuReading`), values as the class holds them.

    Built without validating again (the columns are validated already): for the few readings a caller needs
    one by one, e.g. the alert rules on the readings near a limit.
    """
    layout = LAYOUTS[columns.topic]
    reading = AsicReading if columns.topic == TELEMETRY_ASIC else GpuReading
    rows = list(rows)
    values: dict[str, list[Any]] = {}
    for check in layout.checks:
        if check.name == "device_id":
            picked = [columns.device_ids[row] for row in rows]
        elif check.name == layout.model_field:
            picked = [columns.models[row] for row in rows]
        elif check.name in columns.numbers:
            picked = [_number(check.kind, v) for v in columns.numbers[check.name][rows].tolist()]
        else:
            picked = [columns.texts[check.name][row] for row in rows]
        if isinstance(check.kind, type) and issubclass(check.kind, Enum):
            picked = [None if v is None else check.kind(v) for v in picked]
        values[check.name] = picked
    return [
        reading.model_construct(**{name: column[position] for name, column in values.items()})
        for position in range(len(rows))
    ]


def _number(kind: type, value: float | int) -> float | int | None:
    if value != value:  # NaN: a null optional field
        return None
    return int(value) if kind is int else float(value)
