"""The active alerts, deduplicated by key: conditions in, `Alert` transitions (firing, resolved) out.

A rule reports a `Condition` for every subject it finds at fault at an evaluation. The book fires an alert the
first time a key (rule, site, device) appears, stays silent while it persists (dedup), and resolves it the first
evaluation of the same scope that no longer reports it (auto-resolve). One incident keeps one `alert_id` from
firing to resolved; the next incident of the same key gets a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from hcp.records import Alert, AlertStatus, Severity


def key_of(rule: str, site_id: str | None, device_id: str | None) -> str:
    """The dedup key: one open incident per rule, site and device (or subject)."""
    return f"{rule}|{site_id or '-'}|{device_id or '-'}"


@dataclass(frozen=True)
class Condition:
    """One subject found at fault by one rule at one evaluation."""

    rule: str
    severity: Severity
    message: str
    site_id: str | None = None
    device_id: str | None = None
    value: float | None = None
    threshold: float | None = None

    @property
    def key(self) -> str:
        return key_of(self.rule, self.site_id, self.device_id)


@dataclass(frozen=True)
class _Open:
    scope: str
    firing: Alert


def alert_id_of(condition: Condition, fired_at: datetime) -> str:
    """Stable id of one incident: the dedup key and when it fired."""
    return f"{condition.key}@{int(fired_at.timestamp())}"


class AlertBook:
    """Open incidents by dedup key, each with the scope (an evaluation unit, e.g. one collector) that owns it."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}

    def is_open(self, key: str) -> bool:
        return key in self._open

    @property
    def active(self) -> list[Alert]:
        """The firing transition of every open incident."""
        return [entry.firing for entry in self._open.values()]

    def update(self, scope: str, conditions: Iterable[Condition], now: datetime) -> list[Alert]:
        """Everything `scope` finds at fault now: fire the new keys, resolve this scope's keys not found again."""
        found: dict[str, Condition] = {}
        for condition in conditions:
            found.setdefault(condition.key, condition)
        transitions = [self._fire(scope, condition, now) for key, condition in found.items() if key not in self._open]
        gone = [key for key, entry in self._open.items() if entry.scope == scope and key not in found]
        transitions.extend(self._resolve(key, now) for key in gone)
        return transitions

    def fire(self, scope: str, condition: Condition, now: datetime) -> list[Alert]:
        """Report one condition without resolving anything else of the scope; [] when already open."""
        return [] if condition.key in self._open else [self._fire(scope, condition, now)]

    def clear(self, key: str, now: datetime) -> list[Alert]:
        """Resolve one key if it is open."""
        return [self._resolve(key, now)] if key in self._open else []

    def _fire(self, scope: str, condition: Condition, now: datetime) -> Alert:
        alert_id = alert_id_of(condition, now)
        alert = Alert(
            event_id=f"{alert_id}:firing",
            event_time=now,
            alert_id=alert_id,
            rule=condition.rule,
            severity=condition.severity,
            status=AlertStatus.FIRING,
            site_id=condition.site_id,
            device_id=condition.device_id,
            message=condition.message,
            value=condition.value,
            threshold=condition.threshold,
        )
        self._open[condition.key] = _Open(scope, alert)
        return alert

    def _resolve(self, key: str, now: datetime) -> Alert:
        firing = self._open.pop(key).firing
        return firing.model_copy(
            update={
                "event_id": f"{firing.alert_id}:resolved",
                "event_time": max(now, firing.event_time),
                "status": AlertStatus.RESOLVED,
                "message": f"resolved: {firing.message}",
            }
        )
