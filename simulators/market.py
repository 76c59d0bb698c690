"""Price feeds that produce `PriceTick` records: a seeded synthetic market, and (`ReplayMarket`, in
`simulators.replay`) a replay of recorded files. Both follow the publication rule of the real market.

Information rule: a real-time price for [t, t + interval) is published at t + interval; the day-ahead curve of an
operating day at 10:00 market time the day before; hashprice and BTC price of a UTC day after that day ends; GPU
rental rates at the start of the hour they apply to. `ticks_due(now)` returns every tick published at or before
`now` not returned yet, in publication order. Each kind draws from its own random stream in time order, so the
ticks do not depend on how often `ticks_due` is called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from hcp.economics import GPU_MODELS, hashprice_usd_per_ph_day
from hcp.exceptions import ConfigError
from hcp.records import PriceKind, PriceTick
from simulators.replay import ReplayMarket
from simulators.ticks import (
    DAY,
    HOUR,
    MARKET_TZ,
    da_publication,
    floor_time,
    make_tick,
    operating_day,
    operating_day_hours,
    sort_ticks,
    utc_midnight,
)

__all__ = ["ReplayMarket", "SyntheticMarket"]

# Every simulated day has this spike (USD/MWh per interval), far above any ASIC model's breakeven, so that
# curtailment is visible in any day-long demo; random spikes and negative prices come on top.
SCHEDULED_SPIKE_USD_MWH = (450.0, 1200.0, 2500.0, 700.0)
SCHEDULED_SPIKE_LOCAL_TIME = time(15, 0)
RT_PRICE_FLOOR, RT_PRICE_CAP = -250.0, 5000.0
GPU_RENTAL_BASE_USD = {"H100": 2.0, "A100": 1.2, "L40S": 0.9}
BTC_BASE_USD = 17_000.0
DIFFICULTY = 3.7e13
BLOCK_SUBSIDY_BTC = 6.25
HASHPRICE_BOUNDS = (40.0, 80.0)


def da_shape(local_hour: int) -> float:
    """Relative day-ahead price by hour of the market day: low at night, a morning bump, an evening peak."""
    return 0.75 + 0.2 * math.exp(-(((local_hour - 8) / 2.0) ** 2)) + 0.8 * math.exp(-(((local_hour - 17.5) / 2.5) ** 2))


class SyntheticMarket:
    """Seeded prices for `nodes` from `start`: mean-reverting real-time prices around a day-ahead curve."""

    def __init__(self, nodes: Sequence[str], start: datetime, seed: int, price_interval_s: int = 900) -> None:
        if not nodes:
            raise ConfigError("the synthetic market needs at least one price node")
        if start.tzinfo is None:
            raise ConfigError("the market start must be timezone-aware")
        self.nodes = tuple(nodes)
        self.start = start
        self._seed = seed
        self._interval = timedelta(seconds=price_interval_s)
        self._rt_rng = np.random.default_rng([seed, 1])
        self._daily_rng = np.random.default_rng([seed, 3])
        self._gpu_rng = np.random.default_rng([seed, 4])
        self._next_rt = floor_time(start, price_interval_s) - self._interval
        self._next_da_day = operating_day(start)
        self._next_btc_day = start.astimezone(UTC).date() - DAY
        self._next_gpu_hour = floor_time(start, 3600)
        self._system = 0.0
        self._basis = np.zeros(len(self.nodes))
        self._episode_left = 0
        self._episode_level = 0.0
        self._btc_deviation = 0.0
        self._gpu_deviation = np.zeros(len(GPU_RENTAL_BASE_USD))
        self._da_curves: dict[date, np.ndarray] = {}
        self.first_scheduled_spike = self._first_scheduled_spike(start)

    def _first_scheduled_spike(self, start: datetime) -> datetime:
        local = (start + timedelta(minutes=30)).astimezone(MARKET_TZ)
        candidate = datetime.combine(local.date(), SCHEDULED_SPIKE_LOCAL_TIME, tzinfo=MARKET_TZ)
        if candidate < local:
            candidate += DAY
        first = candidate.astimezone(UTC)
        # Leave room for the whole spike to be published within the first simulated day.
        if first - start > timedelta(hours=22):
            first = floor_time(start, self._interval.total_seconds()) + timedelta(hours=2)
        return first

    def ticks_due(self, now: datetime) -> list[PriceTick]:
        """Every tick published at or before `now` and not returned yet, in publication order."""
        ticks: list[PriceTick] = []
        while self._next_rt + self._interval <= now:
            ticks.extend(self._rt_ticks(self._next_rt))
            self._next_rt += self._interval
        while da_publication(self._next_da_day) <= now:
            ticks.extend(self._da_ticks(self._next_da_day))
            self._next_da_day += DAY
        while utc_midnight(self._next_btc_day) + DAY <= now:
            ticks.extend(self._bitcoin_ticks(self._next_btc_day))
            self._next_btc_day += DAY
        while self._next_gpu_hour <= now:
            ticks.extend(self._gpu_ticks(self._next_gpu_hour))
            self._next_gpu_hour += HOUR
        return sort_ticks(ticks)

    def _da_curve(self, day: date) -> np.ndarray:
        """Day-ahead prices of one operating day, shape (nodes, hours); seeded by the day, so order-free."""
        if day not in self._da_curves:
            rng = np.random.default_rng([self._seed, 2, day.toordinal()])
            hours = operating_day_hours(day)
            shape = np.array([da_shape(h.astimezone(MARKET_TZ).hour) for h in hours])
            level = 32.0 * math.exp(0.15 * rng.standard_normal())
            basis = rng.normal(0.0, 2.0, (len(self.nodes), 1))
            noise = rng.normal(0.0, 3.0, (len(self.nodes), len(hours)))
            self._da_curves[day] = np.round(np.clip(level * shape + basis + noise, -50.0, 3000.0), 2)
        return self._da_curves[day]

    def _da_ticks(self, day: date) -> list[PriceTick]:
        curve, published = self._da_curve(day), da_publication(day)
        return [
            make_tick(PriceKind.ENERGY_DA, hour, hour + HOUR, curve[n, k], published, node=node)
            for k, hour in enumerate(operating_day_hours(day))
            for n, node in enumerate(self.nodes)
        ]

    def _da_at(self, moment: datetime) -> np.ndarray:
        day = operating_day(moment)
        first = operating_day_hours(day)[0]
        return self._da_curve(day)[:, int((moment - first) / HOUR)]

    def _scheduled_spike(self, interval_start: datetime) -> float | None:
        if interval_start < self.first_scheduled_spike:
            return None
        index = int(((interval_start - self.first_scheduled_spike) % DAY) / self._interval)
        return SCHEDULED_SPIKE_USD_MWH[index] if index < len(SCHEDULED_SPIKE_USD_MWH) else None

    def _rt_ticks(self, start: datetime) -> list[PriceTick]:
        rng, scale = self._rt_rng, self._interval / timedelta(minutes=15)
        # A fixed number of draws per interval keeps the stream aligned whatever branch is taken.
        shocks = rng.standard_normal(1 + len(self.nodes))
        uniforms = rng.random(3)
        spike_level = rng.lognormal(math.log(700.0), 0.7)
        duration = int(rng.integers(2, 6))
        self._system = self._system * (1 - min(0.2 * scale, 1.0)) + 6.0 * math.sqrt(scale) * shocks[0]
        self._basis = 0.8 * self._basis + 1.5 * shocks[1:]
        if self._episode_left == 0:
            night = start.astimezone(MARKET_TZ).hour < 6
            if uniforms[0] < 0.004 * scale:
                self._episode_left, self._episode_level = duration, float(np.clip(spike_level, 250.0, 4800.0))
            elif night and uniforms[1] < 0.01 * scale:
                self._episode_left, self._episode_level = duration + 2, -1.0 - 39.0 * uniforms[2]
        price = self._da_at(start) + self._system + self._basis
        if self._episode_left:
            self._episode_left -= 1
            price = self._episode_level * (1.0 + 0.05 * shocks[1:]) + self._basis
        scheduled = self._scheduled_spike(start)
        if scheduled is not None:
            price = np.maximum(price, scheduled + self._basis)
        price = np.clip(price, RT_PRICE_FLOOR, RT_PRICE_CAP)
        end = start + self._interval
        return [
            make_tick(PriceKind.ENERGY_RT, start, end, price[n], end, node=node) for n, node in enumerate(self.nodes)
        ]

    def _bitcoin_ticks(self, day: date) -> list[PriceTick]:
        rng = self._daily_rng
        self._btc_deviation = 0.9 * self._btc_deviation + 0.04 * rng.standard_normal()
        difficulty = DIFFICULTY * (1.0 + 0.01 * rng.standard_normal())
        fees = 0.1 + 0.05 * rng.random()
        per_btc = hashprice_usd_per_ph_day(1.0, BLOCK_SUBSIDY_BTC, fees, difficulty)
        low, high = (bound / per_btc for bound in HASHPRICE_BOUNDS)
        btc = float(np.clip(BTC_BASE_USD * math.exp(self._btc_deviation), low, high))
        hashprice = hashprice_usd_per_ph_day(btc, BLOCK_SUBSIDY_BTC, fees, difficulty)
        start, end = utc_midnight(day), utc_midnight(day) + DAY
        return [
            make_tick(PriceKind.HASHPRICE, start, end, hashprice, end),
            make_tick(PriceKind.BTC, start, end, btc, end),
        ]

    def _gpu_ticks(self, hour: datetime) -> list[PriceTick]:
        shocks = self._gpu_rng.standard_normal(len(GPU_RENTAL_BASE_USD))
        self._gpu_deviation = 0.95 * self._gpu_deviation + 0.03 * shocks
        return [
            make_tick(PriceKind.GPU_RENTAL, hour, hour + HOUR, base * math.exp(dev), hour, gpu_type=gpu_type)
            for (gpu_type, base), dev in zip(GPU_RENTAL_BASE_USD.items(), self._gpu_deviation, strict=True)
            if gpu_type in GPU_MODELS
        ]
