"""What the site controller knows of the market: the prices its decisions use, and how they are looked up.

Pure (no faust). Everything remembered is also returned as `(key, value)` changes so that the agent can write
it to a table, and `restore` reads those entries back after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hcp.economics import ASIC_MODELS
from hcp.policy import Observation
from hcp.records import PriceKind, PriceTick

DEFAULT_GPU_RATE_USD = 2.0
"""USD per GPU-hour a GPU type's work is valued at before any rental rate of that type is known."""
KEEP_DA = timedelta(days=3)
KEEP_HASHPRICE_DAYS = 7

Changes = list[tuple[str, Any]]


def hour_of(moment: datetime) -> datetime:
    """Start of the hour `moment` falls in (day-ahead prices are hourly)."""
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass
class MarketMemory:
    """Latest real-time price per node, day-ahead prices per node and hour, hashprice per day, GPU rates."""

    last_rt: dict[str, tuple[datetime, float]] = field(default_factory=dict)
    day_ahead: dict[tuple[str, datetime], float] = field(default_factory=dict)
    hashprice: dict[date, float] = field(default_factory=dict)
    gpu_rate: dict[str, float] = field(default_factory=dict)

    def remember(self, tick: PriceTick) -> Changes:
        """Keep what the tick says (a real-time price only if no later interval is known); return the changes."""
        kind = tick.kind
        if kind is PriceKind.ENERGY_RT and tick.node:
            known = self.last_rt.get(tick.node)
            if known is not None and known[0] >= tick.interval_start:
                return []
            self.last_rt[tick.node] = (tick.interval_start, tick.value)
            return [(f"rt:{tick.node}", [tick.interval_start.isoformat(), tick.value])]
        if kind is PriceKind.ENERGY_DA and tick.node:
            return self._remember_da(tick)
        if kind is PriceKind.HASHPRICE:
            day = tick.interval_start.date()
            self.hashprice[day] = tick.value
            for old in sorted(self.hashprice)[:-KEEP_HASHPRICE_DAYS]:
                del self.hashprice[old]
            return [(f"hashprice:{day.isoformat()}", tick.value)]
        if kind is PriceKind.GPU_RENTAL and tick.gpu_type:
            self.gpu_rate[tick.gpu_type] = tick.value
            return [(f"gpu_rate:{tick.gpu_type}", tick.value)]
        return []

    def _remember_da(self, tick: PriceTick) -> Changes:
        assert tick.node is not None
        changes: Changes = []
        hour = hour_of(tick.interval_start)
        while hour < tick.interval_end:
            self.day_ahead[(tick.node, hour)] = tick.value
            changes.append((f"da:{tick.node}:{hour.isoformat()}", tick.value))
            hour += timedelta(hours=1)
        horizon = tick.interval_start - KEEP_DA
        for key in [key for key in self.day_ahead if key[1] < horizon]:
            del self.day_ahead[key]
        return changes

    def restore(self, key: str, value: Any) -> None:
        """Read back one entry written from `remember`'s changes."""
        kind, _, rest = key.partition(":")
        if kind == "rt":
            self.last_rt[rest] = (datetime.fromisoformat(value[0]), float(value[1]))
        elif kind == "da":
            node, _, hour = rest.partition(":")
            self.day_ahead[(node, datetime.fromisoformat(hour))] = float(value)
        elif kind == "hashprice":
            self.hashprice[date.fromisoformat(rest)] = float(value)
        elif kind == "gpu_rate":
            self.gpu_rate[rest] = float(value)

    def known_hashprice(self, interval_start: datetime) -> float | None:
        """The latest hashprice of a day before the interval's day (yesterday's, settled), as `hcp backtest`."""
        days = [day for day in self.hashprice if day < interval_start.date()]
        return self.hashprice[max(days)] if days else None

    def rate_of(self, gpu_type: str) -> float:
        return self.gpu_rate.get(gpu_type, DEFAULT_GPU_RATE_USD)

    def observe(self, tick: PriceTick, model: str, hashprice: float) -> Observation:
        """What the policy sees at the start of the interval after `tick`'s, for one ASIC model: this price, the
        day-ahead prices of its hour and of the coming interval's hour, yesterday's hashprice, the model's J/TH."""
        assert tick.node is not None
        return Observation(
            last_rt_price=tick.value,
            last_da_price=self.day_ahead.get((tick.node, hour_of(tick.interval_start))),
            da_price=self.day_ahead.get((tick.node, hour_of(tick.interval_end))),
            hashprice=hashprice,
            joules_per_th=ASIC_MODELS[model].joules_per_th(),
        )
