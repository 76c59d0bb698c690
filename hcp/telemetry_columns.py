"""Telemetry polls decoded as columns: the hot path's decoder, exactly as strict as the record classes.

A telemetry message carries a collector's whole poll (hundreds or thousands of readings). Building a frozen
pydantic model per reading costs more than everything else the ingest worker does with it, so agents decode
polls with `decode_telemetry`: `orjson` parses the message and every reading field is checked column by column
(types, bounds, lengths, enum values, unknown or missing keys), with the checks derived from the record classes'
own field declarations (`AsicReading`, `GpuReading`, `AsicTelemetry`, `GpuTelemetry`), never written twice.

Equivalence, by construction: the fast path only accepts a message whose every field is of the exact JSON type
and within the bounds the record class declares, so anything it accepts the record class accepts too (with the
same values). Anything it is not sure about (a string where a number goes, an integer-valued float, a
timestamp in an unusual ISO form, a bad value) falls back to `hcp.codec.decode_record`, which accepts it or
raises the same `RecordError`, with the same reason, that every other consumer of the topic would raise.
`tests/unit/test_telemetry_columns.py` checks both directions on valid and invalid messages.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import cached_property
from operator import itemgetter
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import annotated_types as at
import numpy as np
import orjson
from pydantic import BaseModel

from hcp.codec import MAX_MESSAGE_BYTES, decode_record
from hcp.exceptions import RecordError
from hcp.records import SCHEMA_VERSION, AsicReading, AsicTelemetry, GpuReading, GpuTelemetry
from hcp.telemetry_cache import RECENT_COLUMNS, ColumnsCache
from hcp.topics import TELEMETRY_ASIC, TELEMETRY_GPU

# The one timestamp form the fast path parses itself (what every producer here writes); others fall back.
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
# The JSON number types the fast path takes for each declared number type (no bool, no integral float for int).
_NUMBER_TYPES: dict[type, set[type]] = {float: {float, int}, int: {int}}


@dataclass(frozen=True)
class TelemetryColumns:
    """One telemetry message (a collector's poll), readings as columns in message order.

    `models` holds the ASIC model (telemetry.asic) or the GPU type (telemetry.gpu); `numbers` every numeric
    reading field as a float64 or int64 array (optional GPU fields: float64 with NaN for null); `texts` the
    other text fields (power state, job and customer ids: None where null).
    """

    topic: str
    event_id: str
    event_time: datetime
    site_id: str
    collector_id: str
    interval_s: float
    device_ids: list[str]
    models: list[str]
    numbers: dict[str, np.ndarray] = field(repr=False)
    texts: dict[str, list[str | None]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.device_ids)


@dataclass(frozen=True)
class _Check:
    """What one field must be, read from its pydantic declaration."""

    name: str
    kind: type  # float, int, str, or an Enum class
    optional: bool
    lower: float | None = None
    lower_strict: bool = False
    upper: float | None = None
    min_length: int | None = None
    max_length: int | None = None


def _check_of(name: str, annotation: Any, metadata: list[Any], optional_default: bool) -> _Check:
    optional = False
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not NoneType]
        optional, annotation = True, args[0]
    if annotation not in (float, int, str) and not (isinstance(annotation, type) and issubclass(annotation, Enum)):
        raise TypeError(f"telemetry_columns cannot check field {name!r} of type {annotation!r}: extend it")
    check = {"name": name, "kind": annotation, "optional": optional or optional_default}
    for item in metadata:
        if isinstance(item, at.Ge):
            check["lower"] = item.ge
        elif isinstance(item, at.Gt):
            check["lower"], check["lower_strict"] = item.gt, True
        elif isinstance(item, at.Le):
            check["upper"] = item.le
        elif isinstance(item, at.MinLen):
            check["min_length"] = item.min_length
        elif isinstance(item, at.MaxLen):
            check["max_length"] = item.max_length
        else:
            raise TypeError(f"telemetry_columns cannot check {item!r} on field {name!r}: extend it")
    return _Check(**check)


def _checks(model: type[BaseModel], skip: tuple[str, ...] = ()) -> tuple[tuple[_Check, ...], frozenset, frozenset]:
    decorators = model.__pydantic_decorators__
    if decorators.field_validators or decorators.model_validators or decorators.validators:
        raise TypeError(f"{model.__name__} has custom validators that telemetry_columns does not replay: extend it")
    checks = tuple(
        _check_of(name, info.annotation, info.metadata, not info.is_required())
        for name, info in model.model_fields.items()
        if name not in skip
    )
    required = frozenset(c.name for c in checks if not c.optional)
    return checks, required, frozenset(c.name for c in checks)


@dataclass(frozen=True)
class _Layout:
    record: type[BaseModel]
    model_field: str
    checks: tuple[_Check, ...]
    required: frozenset
    every: frozenset
    envelope: tuple[_Check, ...]
    envelope_required: frozenset
    envelope_every: frozenset
    readings_max: int

    @cached_property
    def getters(self) -> tuple[Callable[[dict[str, Any]], Any], ...]:
        """One C-level getter per field, in `checks` order."""
        return tuple(itemgetter(check.name) for check in self.checks)


def _layout(record: type[BaseModel], reading: type[BaseModel], model_field: str) -> _Layout:
    envelope, env_required, env_every = _checks(record, skip=("event_time", "readings", "schema_version"))
    readings_max = next(m.max_length for m in record.model_fields["readings"].metadata if isinstance(m, at.MaxLen))
    return _Layout(
        record, model_field, *_checks(reading), envelope,
        env_required | {"event_time", "readings"}, env_every | {"event_time", "readings", "schema_version"},
        readings_max,
    )


LAYOUTS: dict[str, _Layout] = {
    TELEMETRY_ASIC: _layout(AsicTelemetry, AsicReading, "model"),
    TELEMETRY_GPU: _layout(GpuTelemetry, GpuReading, "gpu_type"),
}


def _scalar_ok(check: _Check, value: Any, str_max: int | None = None) -> bool:
    kind = type(value)
    if value is None:
        return check.optional
    if check.kind is str:
        n = len(value) if kind is str else -1
        return (
            n >= (check.min_length or 0)
            and n <= min(check.max_length or n, str_max or n)
        )
    if kind in _NUMBER_TYPES.get(check.kind, set()):
        return _in_bounds(check, np.array([value], dtype=np.float64))
    return False


def _in_bounds(check: _Check, values: np.ndarray) -> bool:
    """Every value finite (floats) and within the declared bounds; judged on the extremes: one pass each."""
    if not values.size:
        return True
    lowest, highest = values.min(), values.max()  # NaN propagates to both: rejected as not finite
    if values.dtype.kind == "f" and not (np.isfinite(lowest) and np.isfinite(highest)):
        return False
    if check.lower is not None and not (lowest > check.lower if check.lower_strict else lowest >= check.lower):
        return False
    return check.upper is None or bool(highest <= check.upper)


def _column(check: _Check, values: list[Any]) -> np.ndarray | list[str] | None:
    """The column (`values` itself for text) if every value certainly passes the field's declaration, else None."""
    types = set(map(type, values))
    has_none = NoneType in types
    if check.optional:
        types.discard(NoneType)
    if check.kind is str:
        if not types <= {str}:
            return None
        lengths = list(map(len, [v for v in values if v is not None] if has_none else values))
        if lengths and (min(lengths) < (check.min_length or 0) or max(lengths) > (check.max_length or max(lengths))):
            return None
        return values
    if isinstance(check.kind, type) and issubclass(check.kind, Enum):
        return values if types <= {str} and set(values) <= check.kind._value2member_map_.keys() else None
    if not types <= _NUMBER_TYPES[check.kind]:
        return None
    try:
        if has_none:
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            present = array[~np.isnan(array)]
        else:
            array = np.array(values, dtype=np.float64 if check.kind is float else np.int64)
            present = array
    except OverflowError:
        return None
    return array if _in_bounds(check, present) else None


def _fields(layout: _Layout, readings: list[Any]) -> list[list[Any]] | None:
    """Each field's values over the readings, in `layout.checks` order (C-level `map`s), or None if unsure."""
    if set(map(type, readings)) != {dict}:
        return None
    if set(map(len, readings)) == {len(layout.every)}:
        try:
            return [list(map(getter, readings)) for getter in layout.getters]  # every field, no other (same count)
        except KeyError:
            return None
    for reading in readings:
        if not layout.required <= reading.keys() <= layout.every:
            return None
    return [[reading.get(check.name) for reading in readings] for check in layout.checks]


def _event_time(value: Any) -> datetime | None:
    if type(value) is not str or not _ISO_TIMESTAMP.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def decode_fast(topic: str, payload: bytes | None) -> TelemetryColumns | None:
    """The poll as columns if it certainly satisfies its record class; None when only the record class can tell."""
    layout = LAYOUTS.get(topic)
    if layout is None or payload is None or len(payload) > MAX_MESSAGE_BYTES:
        return None
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(message) is not dict or not layout.envelope_required <= message.keys() <= layout.envelope_every:
        return None
    version = message.get("schema_version", SCHEMA_VERSION)
    if type(version) is not int or not 1 <= version <= SCHEMA_VERSION:
        return None
    if not all(_scalar_ok(check, message.get(check.name), 512) for check in layout.envelope):
        return None
    event_time = _event_time(message["event_time"])
    readings = message["readings"]
    if event_time is None or type(readings) is not list or not 1 <= len(readings) <= layout.readings_max:
        return None
    fields = _fields(layout, readings)
    if fields is None:
        return None
    columns = {}
    for check, values in zip(layout.checks, fields, strict=True):
        column = _column(check, values)
        if column is None:
            return None
        columns[check.name] = column
    device_ids, models = columns.pop("device_id"), columns.pop(layout.model_field)
    return TelemetryColumns(
        topic=topic,
        event_id=message["event_id"],
        event_time=event_time,
        site_id=message["site_id"],
        collector_id=message["collector_id"],
        interval_s=float(message["interval_s"]),
        device_ids=device_ids,
        models=models,
        numbers={name: c for name, c in columns.items() if isinstance(c, np.ndarray)},
        texts={name: c for name, c in columns.items() if isinstance(c, list)},
    )


def columns_from_record(record: AsicTelemetry | GpuTelemetry) -> TelemetryColumns:
    """The same columns from a validated record (the slow path)."""
    layout = LAYOUTS[record.topic]
    numbers = {}
    for check in layout.checks:
        if check.kind in (float, int):
            values = [getattr(r, check.name) for r in record.readings]
            dtype = np.float64 if check.kind is float or check.optional else np.int64
            numbers[check.name] = np.array([np.nan if v is None else v for v in values], dtype=dtype)
    return TelemetryColumns(
        topic=record.topic,
        event_id=record.event_id,
        event_time=record.event_time,
        site_id=record.site_id,
        collector_id=record.collector_id,
        interval_s=record.interval_s,
        device_ids=[r.device_id for r in record.readings],
        models=[getattr(r, layout.model_field) for r in record.readings],
        numbers=numbers,
        texts={
            check.name: [_text(getattr(r, check.name)) for r in record.readings]
            for check in layout.checks
            if check.kind not in (float, int) and check.name not in ("device_id", layout.model_field)
        },
    )


def _text(value: object) -> str | None:
    return value.value if isinstance(value, Enum) else value  # type: ignore[return-value]


def decode_telemetry(
    topic: str, payload: bytes | None, cache: ColumnsCache | None = RECENT_COLUMNS, reader: bool = True
) -> TelemetryColumns:
    """Validate a telemetry message as its record class would and return it as columns.

    Raises `RecordError` (from `hcp.codec.decode_record`, same reason) for every message the record class rejects.
    With `cache`, a payload another agent of this process decoded lately (or is decoding) is not decoded again
    (shared columns: do not modify them); `reader=False` for a caller that only validates (takes no columns
    from the cache: `hcp.telemetry_cache`).
    """
    if cache is None or payload is None:
        return _decode_uncached(topic, payload)
    return cache.get_or_decode(topic, payload, _decode_uncached, reader)


def _decode_uncached(topic: str, payload: bytes | None) -> TelemetryColumns:
    columns = decode_fast(topic, payload)
    if columns is None:
        record = decode_record(topic, payload)
        assert isinstance(record, AsicTelemetry | GpuTelemetry), f"{topic} is not a telemetry topic"
        columns = columns_from_record(record)
    return columns


Verdict = tuple[str, datetime] | RecordError


@dataclass(frozen=True)
class VerdictWait:
    """How long a reader of the memo waits for a verdict that another agent of the worker is working toward.

    The wait goes on while that agent keeps noting verdicts (it decodes in message order, so it is getting
    nearer) and ends after `stall_s` without one, or after `max_s` in all (then the reader decodes itself).
    """

    stall_s: float = 0.25
    max_s: float = 5.0


class VerdictMemo:
    """The verdicts (event id and time, or the error) of recently decoded telemetry messages, by message identity.

    Two agents of one worker read the same telemetry: the fleet agent decodes each poll into columns and notes
    the verdict here, and the landing agent finds it instead of validating the same message again. The key is
    (topic, partition, offset, hash of the payload), so a different payload at the same offset (another broker
    epoch, another test) is never mistaken for this one. Bounded: the oldest entries go first.
    """

    def __init__(self, capacity: int = 65_536) -> None:
        self.capacity = capacity
        self.hits = self.misses = 0
        self._verdicts: dict[tuple[str, int, int, int], Verdict] = {}
        self._lock = threading.Lock()
        self._noted = threading.Condition(self._lock)

    @staticmethod
    def key(topic: str, partition: int, offset: int, payload: bytes | None) -> tuple[str, int, int, int]:
        return topic, partition, offset, hash(payload)

    def remember(self, topic: str, partition: int, offset: int, payload: bytes | None, verdict: Verdict) -> None:
        with self._lock:
            self._verdicts[self.key(topic, partition, offset, payload)] = verdict
            while len(self._verdicts) > self.capacity:
                del self._verdicts[next(iter(self._verdicts))]
            self._noted.notify_all()

    def recall(
        self, topic: str, partition: int, offset: int, payload: bytes | None, wait: VerdictWait | None = None
    ) -> Verdict | None:
        """The verdict noted for this message, or None; with `wait`, first wait for it as `VerdictWait` says."""
        key = self.key(topic, partition, offset, payload)
        verdict = self._verdicts.get(key)
        if verdict is None and wait is not None:
            deadline = time.monotonic() + wait.max_s
            with self._noted:
                while (verdict := self._verdicts.get(key)) is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._noted.wait(min(wait.stall_s, left)):
                        break
        if verdict is None:
            self.misses += 1
        else:
            self.hits += 1
        return verdict


# One per process: the agents that share it run in the same worker process and read the same messages.
RECENT_VERDICTS = VerdictMemo()


def decode_event_header(
    topic: str,
    payload: bytes | None,
    origin: tuple[int, int] | None = None,
    memo: VerdictMemo = RECENT_VERDICTS,
    wait: VerdictWait | None = None,
) -> tuple[str, datetime]:
    """Validate any record topic's message; return its event id and time (telemetry through the fast path).

    With `origin` (partition, offset), a telemetry verdict already in `memo` is reused; with `wait`, one that
    another agent of the worker is working toward is awaited (`VerdictWait`) rather than decoded twice.
    """
    if topic in LAYOUTS:
        verdict = memo.recall(topic, *origin, payload, wait) if origin is not None else None
        if verdict is None:
            try:
                columns = decode_telemetry(topic, payload, reader=False)  # validation only
            except RecordError as err:
                verdict = err
            else:
                verdict = columns.event_id, columns.event_time
        if isinstance(verdict, RecordError):
            raise verdict
        return verdict
    record = decode_record(topic, payload)
    return record.event_id, record.event_time
