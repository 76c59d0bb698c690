"""Simulated ASIC fleet: per-collector numpy state, seeded faults, power-state and power-mix commands that take
effect after a ramp delay. `poll` returns one `AsicTelemetry` per collector; a silent device is absent from its
readings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from hcp.economics import ASIC_MODELS, POWER_STATE_PROFILES, PowerState
from hcp.fleet import Fleet
from hcp.records import AsicTelemetry, CommandKind, ControlCommand
from simulators.devices import CollectorLayout, ambient_temp_c, layout_collectors
from simulators.exceptions import UnknownTargetError
from simulators.power_mix import assign_power_mix

STATES: tuple[PowerState, ...] = tuple(PowerState)
HASH_FACTOR = np.array([POWER_STATE_PROFILES[s].hashrate_factor for s in STATES])
POWER_FACTOR = np.array([POWER_STATE_PROFILES[s].power_factor for s in STATES])
NORMAL = STATES.index(PowerState.NORMAL)

# Devices of one command finish their ramp up to this many seconds after the ramp delay, so a site's load
# does not step all at once.
STAGGER_MAX_S = 5.0

# Fault onsets per device-hour, and how long each lasts (seconds): hash board down, fan failure, overheat, silent.
FAULT_RATES_PER_HOUR = np.array([0.002, 0.001, 0.002, 0.003])
FAULT_DURATION_S = np.array([[3600.0, 6 * 3600.0], [1800.0, 7200.0], [600.0, 2400.0], [300.0, 1200.0]])
BOARD, FAN, OVERHEAT, SILENT = range(4)

READING_FIELDS = (
    "device_id",
    "model",
    "power_state",
    "hashrate_th",
    "power_w",
    "temp_inlet_c",
    "temp_chip_c",
    "fan_rpm",
    "hashboards_ok",
    "errors",
)


@dataclass
class _Collector:
    layout: CollectorLayout
    site_index: int
    nameplate_th: np.ndarray
    nameplate_w: np.ndarray
    state: np.ndarray
    target: np.ndarray
    ramp_from: np.ndarray  # power-state factors (hash, power) where the ramp began, shape (2, n)
    ramp_start: np.ndarray
    ramp_end: np.ndarray
    stagger: np.ndarray
    fault_until: np.ndarray  # shape (4, n), epoch seconds

    @classmethod
    def build(cls, layout: CollectorLayout, site_index: int) -> _Collector:
        n = len(layout.device_ids)
        models = [ASIC_MODELS[m] for m in layout.models]
        return cls(
            layout=layout,
            site_index=site_index,
            nameplate_th=np.array([m.hashrate_th for m in models]),
            nameplate_w=np.array([m.power_w for m in models]),
            state=np.full(n, NORMAL),
            target=np.full(n, NORMAL),
            ramp_from=np.zeros((2, n)),
            ramp_start=np.zeros(n),
            ramp_end=np.zeros(n),
            stagger=(np.arange(n) * 37 % 11) * (STAGGER_MAX_S / 10),
            fault_until=np.zeros((4, n)),
        )

    def factors_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Settle finished ramps, then the (hash, power) factors of every device at `t`, without noise."""
        finished = (self.target != self.state) & (self.ramp_end <= t)
        self.state[finished] = self.target[finished]
        hash_f, power_f = HASH_FACTOR[self.state], POWER_FACTOR[self.state]
        ramping = self.target != self.state
        if ramping.any():
            span = np.maximum(self.ramp_end - self.ramp_start, 1e-9)
            frac = np.clip((t - self.ramp_start) / span, 0.0, 1.0)
            start_h, start_p = self.ramp_from
            hash_f = np.where(ramping, start_h + (HASH_FACTOR[self.target] - start_h) * frac, hash_f)
            power_f = np.where(ramping, start_p + (POWER_FACTOR[self.target] - start_p) * frac, power_f)
        return hash_f, power_f


class AsicFleetSimulator:
    """Every ASIC of the fleet, polled by site collectors of `site.collector_size` devices."""

    def __init__(
        self, fleet: Fleet, telemetry_interval_s: float, ramp_delay_s: float, rng: np.random.Generator
    ) -> None:
        self.telemetry_interval_s = telemetry_interval_s
        self.ramp_delay_s = ramp_delay_s
        self._rng = rng
        self._collectors: list[_Collector] = []
        self._where: dict[str, tuple[_Collector, int]] = {}
        for site_index, site in enumerate(fleet.sites):
            for layout in layout_collectors(site, site.asics, "asic"):
                collector = _Collector.build(layout, site_index)
                self._collectors.append(collector)
                for position, device_id in enumerate(layout.device_ids):
                    self._where[device_id] = (collector, position)
        self._sites = {site.site_id for site in fleet.sites}

    @property
    def device_ids(self) -> list[str]:
        return list(self._where)

    def power_state(self, device_id: str) -> PowerState:
        """The state a device is in (a ramping device is still in its old state)."""
        collector, position = self._where[device_id]
        return STATES[int(collector.state[position])]

    def apply(self, command: ControlCommand, now: datetime) -> int:
        """Start moving devices to the commanded states; return how many devices were targeted (for a mix: how
        many move).

        `set_power_state` moves every targeted device to one state; `set_power_mix` splits the model's devices at
        the site over the states of `state_counts` (see `assign_power_mix`: as few moves as possible, higher
        states to lower device numbers). Each moved device reaches its state `ramp_delay_s` (plus a stagger of at
        most `STAGGER_MAX_S`) after `now`; its power moves there linearly meanwhile. Raises `UnknownTargetError`
        if the command targets nothing, and for a mix whose counts do not add up to the model's devices.
        """
        if command.site_id not in self._sites:
            raise UnknownTargetError(f"command {command.command_id}: unknown site {command.site_id!r}")
        t = now.timestamp()
        if command.kind is CommandKind.SET_POWER_MIX:
            return self._apply_mix(command, t)
        if command.kind is not CommandKind.SET_POWER_STATE or command.power_state is None:
            raise UnknownTargetError(f"command {command.command_id}: {command.kind.value} is not for ASICs")
        target = STATES.index(command.power_state)
        targeted = 0
        for collector, mask in self._select(command):
            count = int(mask.sum())
            if not count:
                continue
            targeted += count
            self._ramp(collector, mask, np.full(len(collector.state), target), t)
        if not targeted:
            raise UnknownTargetError(f"command {command.command_id}: no such devices at {command.site_id}")
        return targeted

    def _apply_mix(self, command: ControlCommand, t: float) -> int:
        selected = [(c, np.flatnonzero(mask)) for c, mask in self._select(command)]
        current = np.concatenate([c.target[positions] for c, positions in selected] or [np.zeros(0, dtype=int)])
        if not len(current):
            raise UnknownTargetError(f"command {command.command_id}: no {command.asic_model} at {command.site_id}")
        counts = command.state_counts or {}
        wanted = np.array([counts.get(state, 0) for state in STATES])
        try:
            assigned = assign_power_mix(current, wanted)
        except ValueError as err:
            raise UnknownTargetError(f"command {command.command_id}: {command.asic_model}: {err}") from err
        moved = 0
        offset = 0
        for collector, positions in selected:
            targets = collector.target.copy()
            targets[positions] = assigned[offset : offset + len(positions)]
            offset += len(positions)
            mask = targets != collector.target
            moved += int(mask.sum())
            if mask.any():
                self._ramp(collector, mask, targets, t)
        return moved

    def _ramp(self, collector: _Collector, mask: np.ndarray, targets: np.ndarray, t: float) -> None:
        """Start the ramp of the `mask` devices from where they stand now towards `targets`."""
        hash_f, power_f = collector.factors_at(t)
        collector.ramp_from[0, mask] = hash_f[mask]
        collector.ramp_from[1, mask] = power_f[mask]
        collector.ramp_start[mask] = t
        collector.ramp_end[mask] = t + self.ramp_delay_s + collector.stagger[mask]
        collector.target[mask] = targets[mask]

    def _select(self, command: ControlCommand) -> list[tuple[_Collector, np.ndarray]]:
        if command.asic_model:
            return [
                (c, np.array([m == command.asic_model for m in c.layout.models]))
                for c in self._collectors
                if c.layout.site_id == command.site_id
            ]
        masks: dict[int, tuple[_Collector, np.ndarray]] = {}
        for device_id in command.device_ids:
            found = self._where.get(device_id)
            if found is None or found[0].layout.site_id != command.site_id:
                continue
            collector, position = found
            entry = masks.setdefault(id(collector), (collector, np.zeros(len(collector.state), dtype=bool)))
            entry[1][position] = True
        return list(masks.values())

    def poll(self, now: datetime) -> list[AsicTelemetry]:
        """One telemetry message per collector with a reading for every device that answers."""
        return [msg for c in self._collectors if (msg := self._poll_collector(c, now)) is not None]

    def _poll_collector(self, c: _Collector, now: datetime) -> AsicTelemetry | None:
        t = now.timestamp()
        n = len(c.state)
        rng = self._rng
        onset = rng.random((4, n)) < (FAULT_RATES_PER_HOUR * self.telemetry_interval_s / 3600.0)[:, None]
        duration = rng.uniform(FAULT_DURATION_S[:, :1], FAULT_DURATION_S[:, 1:], (4, n))
        noise = rng.standard_normal((5, n))
        errors_base = rng.random(n)
        onset &= c.fault_until <= t
        c.fault_until = np.where(onset, t + duration, c.fault_until)
        active = c.fault_until > t

        hash_f, power_f = c.factors_at(t)
        boards_ok = np.where(active[BOARD], 2, 3)
        hashrate = np.maximum(c.nameplate_th * hash_f * boards_ok / 3 * (1 + 0.02 * noise[0]), 0.0)
        power = c.nameplate_w * power_f * np.where(active[BOARD], 0.7, 1.0) * (1 + 0.01 * noise[1])
        inlet = ambient_temp_c(c.site_index, t) + 3.0 + 0.5 * noise[2]
        chip = inlet + 8.0 + 45.0 * power_f + 1.5 * noise[3] + 30.0 * active[FAN] + 22.0 * active[OVERHEAT]
        fan = np.where(active[FAN], 0.0, 1500.0 + 3600.0 * power_f + 80.0 * noise[4])
        error_rate = 0.3 * hash_f + 20.0 * active[OVERHEAT] + 5.0 * active[FAN]
        errors = np.floor(error_rate * errors_base * 2).astype(int)

        visible = np.flatnonzero(~active[SILENT])
        if not len(visible):
            return None
        layout = c.layout
        columns = zip(
            [layout.device_ids[i] for i in visible.tolist()],
            [layout.models[i] for i in visible.tolist()],
            [STATES[k].value for k in c.state[visible].tolist()],
            np.round(hashrate[visible], 2).tolist(),
            np.round(power[visible], 1).tolist(),
            np.round(inlet[visible], 1).tolist(),
            np.round(np.clip(chip[visible], -50, 200), 1).tolist(),
            np.clip(fan[visible], 0, 30_000).astype(int).tolist(),
            boards_ok[visible].tolist(),
            errors[visible].tolist(),
            strict=True,
        )
        # One validation per message (readings as dicts) is about twice as fast as building each reading.
        return AsicTelemetry.model_validate(
            {
                "event_id": f"{layout.collector_id}:{int(t)}",
                "event_time": now,
                "site_id": layout.site_id,
                "collector_id": layout.collector_id,
                "interval_s": self.telemetry_interval_s,
                "readings": [dict(zip(READING_FIELDS, row, strict=True)) for row in columns],
            }
        )
