"""Scheduled faults for the demo: an overheating ASIC, an offline GPU, a stuck queue and a price spike.

Faults are applied to the records the simulators produce, at the step they are published, so the device
simulators stay untouched: an overheating ASIC reports a hot chip, an offline GPU is missing from its
collector's poll, a stuck queue is a GPU that holds a running job at 0 % utilisation (the job and the work
queued behind it make no progress), and a price spike sets the real-time price of the intervals it covers.
Times are simulated seconds from the simulation start; a fault at a multiple of the telemetry interval shows in
the poll of that very step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hcp.records import AsicTelemetry, GpuTelemetry, PriceKind, PriceTick, Record

log = logging.getLogger(__name__)

OVERHEAT_CHIP_C = 105.0


class Fault(BaseModel):
    """One fault: what, where, from when and for how long (simulated seconds after the start)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["asic_overheat", "gpu_offline", "stuck_queue", "price_spike"]
    at_s: float = Field(ge=0, description="seconds after the simulation start")
    duration_s: float = Field(gt=0, description="how long the fault lasts")
    device_id: str | None = Field(None, description="the ASIC or GPU (asic_overheat, gpu_offline)")
    site_id: str | None = Field(None, description="site whose first busy GPU gets stuck (stuck_queue)")
    node: str | None = Field(None, description="price node (price_spike)")
    value: float = Field(3000.0, description="the spike's real-time price, USD/MWh (price_spike)")


DEMO_FAULTS: tuple[Fault, ...] = (
    Fault(kind="asic_overheat", at_s=3600, duration_s=1200, device_id="west-1-s21-0001"),
    Fault(kind="gpu_offline", at_s=7200, duration_s=900, device_id="west-2-a100-0001"),
    Fault(kind="stuck_queue", at_s=10800, duration_s=1200, site_id="west-1"),
    Fault(kind="price_spike", at_s=14400, duration_s=900, node="HB_WEST", value=3000.0),
)


class FaultSettings(BaseSettings):
    """Demo fault injection (`HCP_FAULTS_*`), used by `hcp demo` and `hcp simulate`."""

    model_config = SettingsConfigDict(env_prefix="HCP_FAULTS_", extra="ignore")

    enabled: bool = Field(True, description="inject the scheduled faults")
    schedule: tuple[Fault, ...] = Field(DEMO_FAULTS, description="faults as a JSON list (see docs/operations.md)")


class FaultInjector:
    """Applies a schedule to each step's records."""

    def __init__(self, faults: Sequence[Fault], start: datetime) -> None:
        self.faults = tuple(faults)
        self.start = start
        self._stuck_device: dict[int, str] = {}

    def active(self, now: datetime, kind: str) -> list[tuple[int, Fault]]:
        elapsed = (now - self.start).total_seconds()
        return [
            (i, f) for i, f in enumerate(self.faults) if f.kind == kind and f.at_s <= elapsed < f.at_s + f.duration_s
        ]

    def apply(self, records: list[Record], now: datetime) -> list[Record]:
        """The records of the step at `now` with every active fault applied."""
        return [self._apply_one(record, now) for record in records]

    def _apply_one(self, record: Record, now: datetime) -> Record:
        if isinstance(record, AsicTelemetry):
            hot = {f.device_id for _, f in self.active(now, "asic_overheat")}
            if hot:
                readings = [r.model_copy(update={"temp_chip_c": max(r.temp_chip_c, OVERHEAT_CHIP_C)})
                            if r.device_id in hot else r for r in record.readings]
                return record.model_copy(update={"readings": tuple(readings)})
        elif isinstance(record, GpuTelemetry):
            return self._gpu(record, now)
        elif isinstance(record, PriceTick) and record.kind is PriceKind.ENERGY_RT:
            for _, fault in self.active(record.interval_start, "price_spike"):
                if fault.node in (None, record.node):
                    return record.model_copy(update={"value": fault.value})
        return record

    def _gpu(self, poll: GpuTelemetry, now: datetime) -> GpuTelemetry:
        offline = {f.device_id for _, f in self.active(now, "gpu_offline")}
        stuck: set[str] = set()
        for index, fault in self.active(now, "stuck_queue"):
            if fault.site_id not in (None, poll.site_id):
                continue
            if index not in self._stuck_device:
                busy = next((r.device_id for r in poll.readings if r.job_id), None)
                if busy is None:
                    continue
                self._stuck_device[index] = busy
                log.info("stuck queue: %s holds its job at 0%% from %s", busy, now.isoformat())
            stuck.add(self._stuck_device[index])
        if not offline and not stuck:
            return poll
        readings = tuple(
            r.model_copy(update={"utilisation_pct": 0.0}) if r.device_id in stuck else r
            for r in poll.readings
            if r.device_id not in offline
        )
        return poll.model_copy(update={"readings": readings}) if readings else poll

    def window(self, fault: Fault) -> tuple[datetime, datetime]:
        return self.start + timedelta(seconds=fault.at_s), self.start + timedelta(seconds=fault.at_s + fault.duration_s)


def scheduled_faults(settings: FaultSettings) -> tuple[Fault, ...]:
    """The faults to inject: the schedule when enabled, none otherwise."""
    return settings.schedule if settings.enabled else ()
