"""What the gate requires of landed data, derived from the record classes so each rule is declared once.

A message value must carry every field its record class requires; a telemetry reading's bounded fields must lie
within the bounds its pydantic model declares (`power_w >= 0`, `utilisation_pct <= 100`, ...).
"""

from __future__ import annotations

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from hcp.records import AsicReading, GpuReading
from hcp.topics import TELEMETRY_ASIC, TELEMETRY_GPU, TOPICS

# Reading fields whose bounds the gate checks, per telemetry topic.
_CHECKED_READING_FIELDS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    TELEMETRY_ASIC: (AsicReading, ("power_w", "hashrate_th", "temp_chip_c")),
    TELEMETRY_GPU: (GpuReading, ("power_w", "utilisation_pct", "temp_c")),
}


def field_bounds(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    """The (lowest, highest) value a model field allows, from its `ge`/`gt`/`le`/`lt` constraints."""
    low = high = None
    for constraint in model.model_fields[name].metadata:
        if isinstance(constraint, Ge | Gt):
            low = float(constraint.ge if isinstance(constraint, Ge) else constraint.gt)
        elif isinstance(constraint, Le | Lt):
            high = float(constraint.le if isinstance(constraint, Le) else constraint.lt)
    return low, high


READING_BOUNDS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    topic: {name: field_bounds(model, name) for name in names}
    for topic, (model, names) in _CHECKED_READING_FIELDS.items()
}


def required_fields(topic: str) -> tuple[str, ...]:
    """Fields a message of `topic` must carry (JSON names), from its record class."""
    record = TOPICS[topic].record
    if record is None:
        return ()
    return tuple(name for name, info in record.model_fields.items() if info.is_required())
