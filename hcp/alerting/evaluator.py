"""The rules' memory and their evaluation per record: what the stream agent calls for every message.

Each evaluation covers one scope (a collector's poll, a node's price, a site's power, the pipeline) and hands
the conditions found to the `AlertBook`, which turns them into firing and resolved transitions.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from hcp.alerting.book import AlertBook, Condition
from hcp.alerting.columns import asic_conditions_of_columns, gpu_conditions_of_columns
from hcp.alerting.rules import (
    condition,
    deadletter_conditions,
    energy_price_conditions,
    hashprice_conditions,
    lag_conditions,
    site_cap_conditions,
)
from hcp.alerting.settings import AlertSettings
from hcp.fleet import Fleet
from hcp.records import Alert, AsicTelemetry, Decision, DecisionKind, GpuTelemetry, PriceKind, PriceTick
from hcp.telemetry_columns import TelemetryColumns, columns_from_record

JOB_DONE_KINDS = frozenset({DecisionKind.PLACEMENT, DecisionKind.REJECTION, DecisionKind.PREEMPTION})


class CollectorMembership:
    """Which devices a collector reports, and how many of its polls each has missed since it last answered."""

    def __init__(self) -> None:
        self.missed: dict[str, dict[str, int]] = {}

    def observe(self, collector_id: str, present: set[str]) -> dict[str, int]:
        """Record one poll; return the missed-poll count of every known device absent from it."""
        counts = self.missed.setdefault(collector_id, {})
        if counts.keys() == present and not any(counts.values()):
            return {}  # the routine poll: the same devices as before, none missing (C-level checks only)
        absent: dict[str, int] = {}
        for device_id in counts.keys() | present:
            counts[device_id] = 0 if device_id in present else counts[device_id] + 1
            if counts[device_id]:
                absent[device_id] = counts[device_id]
        return absent


class WindowRate:
    """Events per minute over a sliding window of wall seconds."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._events: deque[tuple[float, int]] = deque()

    def add(self, at_s: float, count: int) -> None:
        if count:
            self._events.append((at_s, count))

    def per_minute(self, now_s: float) -> float:
        while self._events and self._events[0][0] <= now_s - self.window_s:
            self._events.popleft()
        return sum(n for _, n in self._events) * 60.0 / self.window_s


class AlertEvaluator:
    """Every rule of `hcp.alerting.rules` with the memory it needs, over one fleet."""

    def __init__(self, fleet: Fleet, settings: AlertSettings) -> None:
        self.settings = settings
        self.book = AlertBook()
        self.caps = {site.site_id: site.power_cap_mw for site in fleet.sites}
        self.membership = CollectorMembership()
        self.stuck_polls: dict[str, int] = {}
        self.collector_power_w: dict[str, dict[str, float]] = {}
        self.last_hashprice: float | None = None
        self.deadletters = WindowRate()

    def on_asic(self, poll: AsicTelemetry) -> list[Alert]:
        return self.on_asic_columns(columns_from_record(poll))

    def on_gpu(self, poll: GpuTelemetry) -> list[Alert]:
        return self.on_gpu_columns(columns_from_record(poll))

    def on_asic_columns(self, poll: TelemetryColumns) -> list[Alert]:
        """An ASIC poll (telemetry.asic as columns) through the ASIC, offline and site power rules."""
        found = asic_conditions_of_columns(poll, self.settings, self.book.is_open)
        return self._after_poll(f"asic:{poll.collector_id}", poll, found)

    def on_gpu_columns(self, poll: TelemetryColumns) -> list[Alert]:
        """A GPU poll (telemetry.gpu as columns) through the GPU, offline and site power rules."""
        found = gpu_conditions_of_columns(poll, self.stuck_polls, self.settings, self.book.is_open)
        return self._after_poll(f"gpu:{poll.collector_id}", poll, found)

    def _after_poll(self, scope: str, poll: TelemetryColumns, found: list[Condition]) -> list[Alert]:
        found += self._offline(poll.collector_id, poll.site_id, set(poll.device_ids))
        alerts = self.book.update(scope, found, poll.event_time)
        # Summed one by one in reading order, as over the records: the same float to the last bit.
        power_w = sum(poll.numbers["power_w"].tolist())
        return alerts + self._site_power(poll.site_id, poll.collector_id, power_w, poll.event_time)

    def on_price(self, tick: PriceTick) -> list[Alert]:
        if tick.kind is PriceKind.ENERGY_RT:
            return self.book.update(f"price:{tick.node}", energy_price_conditions(tick, self.settings), tick.event_time)
        if tick.kind is PriceKind.HASHPRICE:
            found = hashprice_conditions(tick, self.last_hashprice, self.settings)
            self.last_hashprice = tick.value
            return self.book.update("hashprice", found, tick.event_time)
        return []

    def on_decision(self, decision: Decision) -> list[Alert]:
        """An SLA breach of a watched class fires; the job's placement, rejection or preemption resolves it."""
        sla = condition("ls_job_sla", f"job {decision.subject} at {decision.site_id}: {decision.reason}",
                        site_id=decision.site_id, device_id=decision.subject, value=decision.queue_wait_s)
        if decision.kind is DecisionKind.SLA_BREACH:
            if decision.reason.split(" ", 1)[0] in self.settings.sla_qos_classes:
                return self.book.fire("sla", sla, decision.event_time)
            return []
        if decision.kind in JOB_DONE_KINDS:
            return self.book.clear(sla.key, decision.event_time)
        return []

    def on_pipeline(self, lag: dict[tuple[str, str], int], now: datetime) -> list[Alert]:
        """Consumer lag by (group, topic) and the dead-letter rate, at wall time `now`."""
        alerts = self.book.update("pipeline:lag", lag_conditions(lag, self.settings), now)
        rate = self.deadletters.per_minute(now.timestamp())
        return alerts + self.book.update("pipeline:deadletters", deadletter_conditions(rate, self.settings), now)

    def _offline(self, collector_id: str, site_id: str, present: set[str]) -> list[Condition]:
        limit = self.settings.device_offline_missed_polls
        return [
            condition("device_offline", f"{device_id} missed {missed} poll(s) of {collector_id}",
                      site_id=site_id, device_id=device_id, value=missed, threshold=limit)
            for device_id, missed in sorted(self.membership.observe(collector_id, present).items())
            if missed >= limit
        ]

    def _site_power(self, site_id: str, collector_id: str, power_w: float, now: datetime) -> list[Alert]:
        cap = self.caps.get(site_id)
        if cap is None:
            return []
        by_collector = self.collector_power_w.setdefault(site_id, {})
        by_collector[collector_id] = power_w
        site_mw = sum(by_collector.values()) / 1e6
        found = site_cap_conditions(site_id, site_mw, cap, self.settings, self.book.is_open)
        return self.book.update(f"site:{site_id}", found, now)
