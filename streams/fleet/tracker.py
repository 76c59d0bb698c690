"""Which devices exist and which are online, judged on event time. Pure: no faust.

Each site has a clock per device kind: the newest event time seen on that site's ASIC (or GPU) telemetry. A
device is offline when its own clock is more than `offline_after_s` past the device's last reading, so a
lagging partition or topic never makes other devices look silent (ASIC and GPU telemetry are separate topics,
and one may be read ahead of the other). (A site whose telemetry stops entirely keeps its clock, so its devices
stay as they were; that needs a wall-clock watchdog, not this tracker.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import filterfalse

from hcp.records import AsicReading, DeviceChange, DeviceKind, DeviceStatus, GpuReading


@dataclass(frozen=True)
class DeviceState:
    """What the tracker knows about one device."""

    site_id: str
    kind: DeviceKind
    model: str
    status: DeviceStatus
    last_seen: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "site_id": self.site_id,
            "kind": self.kind.value,
            "model": self.model,
            "status": self.status.value,
            "last_seen": self.last_seen.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> DeviceState:
        return cls(
            site_id=data["site_id"],
            kind=DeviceKind(data["kind"]),
            model=data["model"],
            status=DeviceStatus(data["status"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
        )


def reading_model(reading: AsicReading | GpuReading) -> str:
    """ASIC model or GPU type of a reading."""
    return reading.model if isinstance(reading, AsicReading) else reading.gpu_type


class _DeviceView(Mapping[str, DeviceState]):
    """Read-only view of the tracker's devices; `last_seen` is kept apart so a routine report costs one store."""

    def __init__(self, states: dict[str, DeviceState], last_seen: dict[str, datetime]) -> None:
        self._states = states
        self._last_seen = last_seen

    def __getitem__(self, device_id: str) -> DeviceState:
        state = self._states[device_id]
        last_seen = self._last_seen[device_id]
        return state if state.last_seen == last_seen else replace(state, last_seen=last_seen)

    def __contains__(self, device_id: object) -> bool:
        return device_id in self._states

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)


class FleetTracker:
    """Per device: site, kind, model, status and last event time; emits a `DeviceChange` on every change.

    Costs: a poll of known devices, all online at the poll's site and all newer than their last reading (the
    routine poll), is a few C-level passes over its device ids (`_observe_routine`); any other poll goes reading
    by reading. `expire` scans a site only once its clock has passed the earliest moment any of its online
    devices could have gone silent.
    """

    def __init__(self, offline_after_s: float) -> None:
        self.offline_after = timedelta(seconds=offline_after_s)
        self._states: dict[str, DeviceState] = {}  # last_seen here is as of the last change; see _last_seen
        self._last_seen: dict[str, datetime] = {}
        self._by_site: dict[tuple[str, DeviceKind], set[str]] = {}  # (site, kind) -> its devices
        self._online_at: dict[str, set[str]] = {}  # site -> its devices whose status is online
        self._clocks: dict[tuple[str, DeviceKind], datetime] = {}
        # (site, kind) -> no online device of that kind at the site can be silent before its clock passes this
        self._expiry_due: dict[tuple[str, DeviceKind], datetime] = {}

    @property
    def devices(self) -> Mapping[str, DeviceState]:
        return _DeviceView(self._states, self._last_seen)

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(site for site, _ in self._clocks))

    def site_clock(self, site_id: str) -> datetime | None:
        """Newest event time seen on any of the site's telemetry."""
        return max((t for (site, _), t in self._clocks.items() if site == site_id), default=None)

    def restore(self, device_id: str, state: DeviceState) -> None:
        """Know a device from earlier (e.g. a recovered table), without emitting a change."""
        self._put(device_id, state)
        self._expect_reports(state.site_id, state.kind, state.last_seen)
        clock = self._clocks.get((state.site_id, state.kind))
        if clock is None or state.last_seen > clock:
            self._clocks[(state.site_id, state.kind)] = state.last_seen

    def observe(
        self, site_id: str, kind: DeviceKind, readings: Iterable[AsicReading | GpuReading], event_time: datetime
    ) -> list[DeviceChange]:
        """Take one poll's readings: discover new devices, bring reporting offline ones back online."""
        readings = list(readings)
        return self.observe_ids(
            site_id, kind, [r.device_id for r in readings], [reading_model(r) for r in readings], event_time
        )

    def observe_ids(
        self, site_id: str, kind: DeviceKind, device_ids: Sequence[str], models: Sequence[str], event_time: datetime
    ) -> list[DeviceChange]:
        """`observe` for a poll given as columns: device ids and their models (ASIC model or GPU type)."""
        clock = self._clocks.get((site_id, kind))
        if clock is None or event_time > clock:
            self._clocks[(site_id, kind)] = clock = event_time
        self._expect_reports(site_id, kind, event_time)
        if self._observe_routine(site_id, device_ids, models, event_time):
            return []
        changes = []
        last_seen, states = self._last_seen, self._states
        for device_id, model in zip(device_ids, models, strict=True):
            last = last_seen.get(device_id)
            if last is None:
                state = DeviceState(site_id, kind, model, DeviceStatus.ONLINE, event_time)
                self._put(device_id, state)
                changes.append(self._change(device_id, state, event_time, first_seen=True, reason="discovered"))
            elif event_time > last:
                last_seen[device_id] = event_time
                state = states[device_id]
                if state.status is DeviceStatus.ONLINE and state.site_id == site_id:
                    continue  # the routine case: one store
                back = state.status is DeviceStatus.OFFLINE and clock - event_time <= self.offline_after
                status = DeviceStatus.ONLINE if back else state.status
                state = replace(state, site_id=site_id, last_seen=event_time, status=status)
                self._put(device_id, state)
                if back:
                    changes.append(self._change(device_id, state, event_time, reason="reporting again"))
        return changes

    def _observe_routine(
        self, site_id: str, device_ids: Sequence[str], models: Sequence[str], event_time: datetime
    ) -> bool:
        """Take a routine poll at once (every device known, online at this site, last seen before `event_time`:
        the reading-by-reading loop would store `event_time` for each and change nothing else); False if not."""
        online = self._online_at.get(site_id)
        if not device_ids or len(models) != len(device_ids) or online is None or not online.issuperset(device_ids):
            return False
        last_seen = self._last_seen
        if max(map(last_seen.__getitem__, device_ids)) >= event_time:
            return False
        last_seen.update(dict.fromkeys(device_ids, event_time))
        return True

    def unknown(self, device_ids: Iterable[str]) -> list[str]:
        """The ids, in order, of devices the tracker does not know."""
        return list(filterfalse(self._states.__contains__, device_ids))

    def expire(self, site_id: str, now: datetime) -> list[DeviceChange]:
        """Mark offline the online devices of the site silent for more than `offline_after_s` at `now`, each
        judged at `now` or at its own kind's clock at the site, whichever is earlier.

        A kind is scanned only once its judging time has passed the earliest moment one of its online devices
        could have gone silent: a kind whose telemetry lags the other's (or `now`) costs nothing per call.
        """
        judged: dict[DeviceKind, datetime] = {}
        for kind in DeviceKind:
            due = self._expiry_due.get((site_id, kind))
            at = min(now, self._clocks.get((site_id, kind), now))
            if due is not None and at > due:
                judged[kind] = at
        if not judged:
            return []
        changes = []
        earliest: dict[DeviceKind, datetime] = {}
        states, last_seen = self._states, self._last_seen
        scanned = (device_id for kind in judged for device_id in self._by_site.get((site_id, kind), ()))
        for device_id in sorted(scanned):
            state = states[device_id]
            if state.status is not DeviceStatus.ONLINE:
                continue
            at = judged[state.kind]
            seen = last_seen[device_id]
            silence = at - seen
            if silence > self.offline_after:
                state = replace(state, status=DeviceStatus.OFFLINE, last_seen=seen)
                self._put(device_id, state)
                reason = f"silent for {silence.total_seconds():.0f} s (limit {self.offline_after.total_seconds():.0f})"
                changes.append(self._change(device_id, state, now, reason=reason))
            elif state.kind not in earliest or seen < earliest[state.kind]:
                earliest[state.kind] = seen
        for kind in judged:
            if kind in earliest:
                self._expiry_due[(site_id, kind)] = earliest[kind] + self.offline_after
            else:
                del self._expiry_due[(site_id, kind)]
        return changes

    def __getitem__(self, device_id: str) -> DeviceState:
        return self.devices[device_id]

    def _expect_reports(self, site_id: str, kind: DeviceKind, last_seen: datetime) -> None:
        due = last_seen + self.offline_after
        current = self._expiry_due.get((site_id, kind))
        if current is None or due < current:
            self._expiry_due[(site_id, kind)] = due

    def _put(self, device_id: str, state: DeviceState) -> None:
        previous = self._states.get(device_id)
        if previous is not None and (previous.site_id, previous.kind) != (state.site_id, state.kind):
            self._by_site[(previous.site_id, previous.kind)].discard(device_id)
        if previous is not None:
            self._online_at.get(previous.site_id, set()).discard(device_id)
        self._states[device_id] = state
        self._last_seen[device_id] = state.last_seen
        self._by_site.setdefault((state.site_id, state.kind), set()).add(device_id)
        if state.status is DeviceStatus.ONLINE:
            self._online_at.setdefault(state.site_id, set()).add(device_id)

    @staticmethod
    def _change(
        device_id: str, state: DeviceState, at: datetime, *, reason: str, first_seen: bool = False
    ) -> DeviceChange:
        # Derived from what the change is, so a replay of the same telemetry yields the same event ids.
        label = "discovered" if first_seen else state.status.value
        return DeviceChange(
            event_id=f"{device_id}:{label}:{state.last_seen.isoformat()}",
            event_time=at,
            device_id=device_id,
            site_id=state.site_id,
            device_kind=state.kind,
            model=state.model,
            status=state.status,
            first_seen=first_seen,
            last_seen=state.last_seen,
            reason=reason,
        )
