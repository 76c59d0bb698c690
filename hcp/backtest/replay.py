"""Replaying a month of recorded prices through the policy, interval by interval, and valuing every schedule.

The policy sees, for the interval starting at `ts`: the real-time price of the row before it in the file, the
day-ahead prices of both intervals' hours, and the latest hashprice of a day before `ts`'s day. The margins are
valued with the hashprice of `ts`'s own day (the realised one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from hcp.backtest.inputs import AsicGroup, BacktestFleet, month_bounds
from hcp.exceptions import ConfigError
from hcp.policy import (
    CurtailmentPolicy,
    Observation,
    PolicyState,
    compute_breakevens,
    compute_full_margins,
    hindsight_fractions,
    hysteresis_fractions,
    lag1_fractions,
    share_of_gain,
    share_of_optimal,
    step,
    sum_value,
)
from hcp.policy.margins import FloatArray

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ScheduleValues:
    """USD earned by one model's fleet (or the whole fleet) over the month under each schedule."""

    always_on_usd: float
    hindsight_usd: float
    policy_usd: float
    lag1_usd: float
    hysteresis_usd: float

    @property
    def share_of_optimal(self) -> float | None:
        return share_of_optimal(self.policy_usd, self.hindsight_usd)

    @property
    def share_of_gain(self) -> float | None:
        return share_of_gain(self.policy_usd, self.always_on_usd, self.hindsight_usd)

    def __add__(self, other: ScheduleValues) -> ScheduleValues:
        return ScheduleValues(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (self.always_on_usd, self.hindsight_usd, self.policy_usd, self.lag1_usd, self.hysteresis_usd)


@dataclass(frozen=True)
class ModelReplay:
    """One model's decisions for every interval and what they, and the benchmarks, earned."""

    group: AsicGroup
    run_fractions: FloatArray
    reasons: tuple[str, ...]
    breakevens: FloatArray
    values: ScheduleValues


@dataclass(frozen=True)
class MonthReplay:
    """The replay of one month at one node."""

    node: str
    month: str
    interval_hours: float
    intervals: pl.DataFrame
    models: tuple[ModelReplay, ...] = field(default=())

    @property
    def total(self) -> ScheduleValues:
        values = [m.values for m in self.models]
        return sum(values[1:], start=values[0])


def build_intervals(
    rt: pl.DataFrame, da: pl.DataFrame | None, hashprice: pl.DataFrame, year: int, month: int
) -> pl.DataFrame:
    """The month's intervals: `ts, price, last_price, da_price, last_da_price, hashprice_known, hashprice`."""
    first, after = month_bounds(year, month)
    known = rt.with_columns(pl.col("price").shift(1).alias("last_price"), pl.col("ts").shift(1).alias("last_ts"))
    rows = known.filter(
        (pl.col("ts") >= datetime.combine(first, datetime.min.time()))
        & (pl.col("ts") < datetime.combine(after, datetime.min.time()))
    )
    if rows.height == 0:
        span = f"{rt['ts'].min()} .. {rt['ts'].max()}"
        raise ConfigError(f"no real-time prices for {year:04d}-{month:02d}; the file covers {span}")
    missing = rows.filter(pl.col("price").is_null()).height
    if missing:
        raise ConfigError(f"{missing} real-time interval(s) of {year:04d}-{month:02d} have no price")
    rows = rows.with_columns(
        (pl.col("ts").dt.truncate("1h") + HOUR).alias("hour_end"),
        (pl.col("last_ts").dt.truncate("1h") + HOUR).alias("last_hour_end"),
        pl.col("ts").dt.date().alias("day"),
    )
    if da is None:
        rows = rows.with_columns(
            pl.lit(None, pl.Float64).alias("da_price"), pl.lit(None, pl.Float64).alias("last_da_price")
        )
    else:
        hourly = da.drop_nulls().unique("ts", keep="first")
        rows = rows.join(hourly.rename({"ts": "hour_end", "price": "da_price"}), on="hour_end", how="left").join(
            hourly.rename({"ts": "last_hour_end", "price": "last_da_price"}), on="last_hour_end", how="left"
        )
    return _attach_hashprice(rows.sort("ts", maintain_order=True), hashprice)


def _attach_hashprice(rows: pl.DataFrame, hashprice: pl.DataFrame) -> pl.DataFrame:
    realised = rows.join(hashprice, on="day", how="left")
    absent = realised.filter(pl.col("hashprice").is_null())["day"].unique().sort()
    if len(absent):
        raise ConfigError(f"hashprice file has no value for {len(absent)} day(s) of the month, first {absent[0]}")
    yesterday = hashprice.rename({"hashprice": "hashprice_known"}).with_columns(
        (pl.col("day") + timedelta(days=1)).alias("day")
    )
    known = realised.sort("day").join_asof(yesterday, on="day", strategy="backward").sort("ts", maintain_order=True)
    if known["hashprice_known"].null_count():
        raise ConfigError(f"hashprice file has no day before {known['day'].min()}: yesterday's value is unknown")
    return known


def infer_interval_hours(rt: pl.DataFrame) -> float:
    """The real-time interval length in hours: the most common gap between consecutive distinct stamps."""
    gaps = rt["ts"].unique().sort().diff().drop_nulls()
    gaps = gaps.filter(gaps > timedelta(0))
    if len(gaps) == 0:
        raise ConfigError("the real-time file needs at least two distinct timestamps to know its interval length")
    return gaps.mode().sort()[0].total_seconds() / 3600.0


def replay_model(intervals: pl.DataFrame, group: AsicGroup, policy: CurtailmentPolicy, hours: float) -> ModelReplay:
    """Step the policy through the month for one model and value its schedule against the benchmarks."""
    fractions = np.empty(intervals.height, dtype=np.float64)
    reasons: list[str] = []
    state = PolicyState()
    columns = ("last_price", "last_da_price", "da_price", "hashprice_known")
    for i, (last, last_da, da, known) in enumerate(intervals.select(columns).iter_rows()):
        observation = Observation(last, last_da, da, known, group.joules_per_th)
        state, fractions[i], reason = step(state, observation, policy)
        reasons.append(reason)
    price = intervals["price"].to_numpy()
    margins = compute_full_margins(
        group.count, group.hashrate_th, group.power_w, intervals["hashprice"].to_numpy(), price, hours
    )
    breakevens = compute_breakevens(intervals["hashprice_known"].to_numpy(), group.joules_per_th)
    last_prices = intervals["last_price"].fill_null(math.nan).to_numpy()
    values = ScheduleValues(
        always_on_usd=float(margins.sum()),
        hindsight_usd=sum_value(hindsight_fractions(margins), margins),
        policy_usd=sum_value(fractions, margins),
        lag1_usd=sum_value(lag1_fractions(last_prices, breakevens), margins),
        hysteresis_usd=sum_value(hysteresis_fractions(last_prices, breakevens), margins),
    )
    return ModelReplay(group, fractions, tuple(reasons), breakevens, values)


def replay_month(
    rt: pl.DataFrame,
    da: pl.DataFrame | None,
    hashprice: pl.DataFrame,
    fleet: BacktestFleet,
    node: str,
    year: int,
    month: int,
    policy: CurtailmentPolicy,
) -> MonthReplay:
    """Replay every model of the fleet through one month at one node."""
    hours = infer_interval_hours(rt)
    intervals = build_intervals(rt, da, hashprice, year, month)
    models = tuple(replay_model(intervals, group, policy, hours) for group in fleet.asic_models)
    return MonthReplay(node, f"{year:04d}-{month:02d}", hours, intervals, models)
