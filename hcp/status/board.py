"""What `hcp status` shows, built from the topics' records (pure: no broker, no terminal).

Feed it every record read, in topic order; it keeps the latest of each thing: per-collector power and device
states, device status changes, prices, the last decisions, the job queue and the open alerts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from hcp.economics import ASIC_MODELS, PowerState, breakeven_usd_per_mwh
from hcp.fleet import Fleet
from hcp.records import (
    Alert,
    AlertStatus,
    AsicTelemetry,
    Decision,
    DecisionKind,
    DeviceChange,
    DeviceStatus,
    GpuTelemetry,
    PriceKind,
    PriceTick,
    Record,
    WorkloadRequest,
)

ROUTING_DONE = frozenset({DecisionKind.PLACEMENT, DecisionKind.REJECTION})


@dataclass
class CollectorView:
    site_id: str
    kind: str
    power_w: float
    online: int
    curtailed: int
    busy: int


@dataclass
class StatusBoard:
    """The live state of the platform as the topics tell it."""

    fleet: Fleet
    last_decisions: int = 8
    collectors: dict[str, CollectorView] = field(default_factory=dict)
    offline: dict[str, str] = field(default_factory=dict)
    """device_id -> site_id of the devices `fleet.devices` last reported offline."""
    energy_rt: dict[str, float] = field(default_factory=dict)
    hashprice: float | None = None
    decisions: deque[Decision] = field(default_factory=deque)
    priorities: dict[str, int] = field(default_factory=dict)
    queued: dict[str, tuple[str, int]] = field(default_factory=dict)
    """job_id -> (site_id, priority) of the jobs waiting in a queue."""
    alerts: dict[str, Alert] = field(default_factory=dict)
    clock: datetime | None = None
    records: int = 0

    def apply(self, record: Record) -> None:
        self.records += 1
        if self.clock is None or record.event_time > self.clock:
            self.clock = record.event_time
        if isinstance(record, AsicTelemetry):
            self.collectors[record.collector_id] = CollectorView(
                record.site_id, "asic", sum(r.power_w for r in record.readings), len(record.readings),
                sum(r.power_state is PowerState.SLEEP for r in record.readings), 0)
        elif isinstance(record, GpuTelemetry):
            self.collectors[record.collector_id] = CollectorView(
                record.site_id, "gpu", sum(r.power_w for r in record.readings), len(record.readings), 0,
                sum(r.job_id is not None for r in record.readings))
        elif isinstance(record, DeviceChange):
            if record.status is DeviceStatus.OFFLINE:
                self.offline[record.device_id] = record.site_id
            else:
                self.offline.pop(record.device_id, None)
        elif isinstance(record, PriceTick):
            if record.kind is PriceKind.ENERGY_RT and record.node:
                self.energy_rt[record.node] = record.value
            elif record.kind is PriceKind.HASHPRICE:
                self.hashprice = record.value
        elif isinstance(record, WorkloadRequest):
            self.priorities[record.job_id] = record.priority
        elif isinstance(record, Decision):
            self._decision(record)
        elif isinstance(record, Alert):
            if record.status is AlertStatus.FIRING:
                self.alerts[record.alert_id] = record
            else:
                self.alerts.pop(record.alert_id, None)

    def _decision(self, decision: Decision) -> None:
        self.decisions.append(decision)
        while len(self.decisions) > self.last_decisions:
            self.decisions.popleft()
        job = decision.subject
        if decision.kind is DecisionKind.QUEUED:
            self.queued[job] = (decision.site_id, self.priorities.get(job, -1))
        elif decision.kind in ROUTING_DONE:
            self.queued.pop(job, None)

    def site_rows(self) -> list[dict[str, object]]:
        """Per site: power against the cap, devices online / curtailed / offline, GPUs busy, price."""
        rows = []
        for site in self.fleet.sites:
            mine = [c for c in self.collectors.values() if c.site_id == site.site_id]
            power_mw = sum(c.power_w for c in mine) / 1e6
            rows.append({
                "site": site.site_id,
                "power_mw": power_mw,
                "cap_mw": site.power_cap_mw,
                "asic_online": sum(c.online for c in mine if c.kind == "asic"),
                "asic_curtailed": sum(c.curtailed for c in mine),
                "gpu_online": sum(c.online for c in mine if c.kind == "gpu"),
                "gpu_busy": sum(c.busy for c in mine),
                "offline": sum(1 for s in self.offline.values() if s == site.site_id),
                "price": self.energy_rt.get(site.node),
                "node": site.node,
            })
        return rows

    def breakevens(self) -> dict[str, float]:
        if self.hashprice is None:
            return {}
        return {name: breakeven_usd_per_mwh(self.hashprice, m.joules_per_th()) for name, m in ASIC_MODELS.items()}

    def queue_by_priority(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for _, priority in self.queued.values():
            counts[priority] = counts.get(priority, 0) + 1
        return dict(sorted(counts.items(), reverse=True))
