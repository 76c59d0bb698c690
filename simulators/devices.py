"""How simulated devices and their collectors are named and grouped: shared by the ASIC and GPU simulators."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hcp.fleet import DeviceGroup, Site, model_slug

__all__ = ["CollectorLayout", "ambient_temp_c", "layout_collectors", "model_slug"]


@dataclass(frozen=True)
class CollectorLayout:
    """One site collector and the devices it polls, in order."""

    site_id: str
    collector_id: str
    device_ids: tuple[str, ...]
    models: tuple[str, ...]


def layout_collectors(site: Site, groups: Sequence[DeviceGroup], kind: str) -> list[CollectorLayout]:
    """Devices `<site>-<model>-<nnnn>` (numbered per model), chunked into collectors `<site>-<kind>-c<nn>`."""
    device_ids: list[str] = []
    models: list[str] = []
    numbers: dict[str, int] = {}
    for group in groups:
        for _ in range(group.count):
            numbers[group.model] = numbers.get(group.model, 0) + 1
            device_ids.append(f"{site.site_id}-{model_slug(group.model)}-{numbers[group.model]:04d}")
            models.append(group.model)
    size = site.collector_size
    return [
        CollectorLayout(
            site_id=site.site_id,
            collector_id=f"{site.site_id}-{kind}-c{index + 1:02d}",
            device_ids=tuple(device_ids[first : first + size]),
            models=tuple(models[first : first + size]),
        )
        for index, first in enumerate(range(0, len(device_ids), size))
    ]


def ambient_temp_c(site_index: int, epoch_s: float) -> float:
    """Outside air at a site in Texas (UTC-6): a daily cycle peaking at 15:00 local, sites a little apart."""
    local_hour = (epoch_s / 3600.0 - 6.0) % 24.0
    return 14.0 + 2.0 * site_index + 7.0 * math.sin(2 * math.pi * (local_hour - 9.0) / 24.0)
