"""The energy-price forecaster: hourly day-ahead prices of one node for the next 1 to 7 days (LightGBM).

History has the shape of ERCOT's wide day-ahead file: `datetime_col` (hour ending, local time) and one column
per node. Hours are turned into hour-starting local time; a repeated hour (DST) keeps its first value and a
missing one is interpolated. The model predicts, for each hour of a day, the change from the same hour of the
day before, from features that use only history before the day (`FEATURES`), with an L1 objective (MAE).
Days beyond the first are forecast recursively: a forecast day becomes history for the next. LightGBM beat
Prophet in the comparison of docs/models.md. Baselines: the same hour yesterday and the same hour last week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import lightgbm as lgb
import numpy as np
import polars as pl

from models.exceptions import InputDataError
from models.frames import require_columns
from models.metrics import mae

TIME_COLUMN = "datetime_col"
DAY, WEEK = 24, 168
MIN_HISTORY_HOURS = WEEK + DAY
MAX_HORIZON_HOURS = 8 * DAY
FEATURES = (
    "hour",
    "weekday",
    "month",
    "lag_1d",
    "lag_2d",
    "lag_7d",
    "mean_1d",
    "mean_7d",
    "max_1d",
    "min_1d",
    "std_7d",
    "last_price",
    "median_7d_same_hour",
)
DEFAULT_PARAMS: dict[str, float | int | str] = {
    "num_boost_round": 300,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "feature_fraction": 0.8,
}


@dataclass(frozen=True)
class PriceHistory:
    """Hourly prices of one node: `values[i]` is the hour starting at `start + i hours` (local time, naive)."""

    node: str
    start: datetime
    values: np.ndarray

    def index_of(self, moment: datetime) -> int:
        return int((moment - self.start).total_seconds() // 3600)

    @property
    def end(self) -> datetime:
        """The start of the hour after the last one."""
        return self.start + timedelta(hours=len(self.values))


def day_ahead_history(frame: pl.DataFrame, node: str) -> PriceHistory:
    """The node's hourly series from a wide day-ahead frame; errors name what is missing."""
    require_columns(frame, (TIME_COLUMN, node), "day-ahead prices")
    stamps = frame[TIME_COLUMN]
    if stamps.dtype == pl.String:
        stamps = stamps.str.to_datetime(strict=False)
    data = pl.DataFrame({"hour": stamps, "price": frame[node].cast(pl.Float64, strict=False)}).drop_nulls("hour")
    if data.is_empty():
        raise InputDataError(f"day-ahead prices: {TIME_COLUMN} holds no timestamp like 2022-01-01 01:00:00")
    # Hour ending -> hour starting; the repeated DST hour keeps its first value.
    data = data.with_columns(pl.col("hour").dt.replace_time_zone(None) - pl.duration(hours=1))
    data = data.unique("hour", keep="first").sort("hour")
    hours = pl.datetime_range(data["hour"].min(), data["hour"].max(), "1h", eager=True).alias("hour")
    filled = pl.DataFrame(hours).join(data, on="hour", how="left")
    values = filled["price"].interpolate().fill_null(strategy="forward").fill_null(strategy="backward")
    if values.null_count() == len(values):
        raise InputDataError(f"day-ahead prices: column {node} holds no price")
    return PriceHistory(node, filled["hour"][0], values.to_numpy().astype(float))


def day_features(values: np.ndarray, origin: int, day: datetime) -> np.ndarray:
    """The 24 feature rows of the day starting at index `origin`, from `values[:origin]` only."""
    d1, d2 = values[origin - DAY : origin], values[origin - 2 * DAY : origin - DAY]
    d7, week = values[origin - WEEK : origin - WEEK + DAY], values[origin - WEEK : origin]
    same_hour = np.median(week.reshape(7, DAY), axis=0)
    rows = np.empty((DAY, len(FEATURES)))
    rows[:, 0] = np.arange(DAY)
    rows[:, 1], rows[:, 2] = day.weekday(), day.month
    rows[:, 3], rows[:, 4], rows[:, 5] = d1, d2, d7
    rows[:, 6], rows[:, 7], rows[:, 8], rows[:, 9] = d1.mean(), week.mean(), d1.max(), d1.min()
    rows[:, 10], rows[:, 11], rows[:, 12] = week.std(), values[origin - 1], same_hour
    return rows


@dataclass
class PriceModel:
    """A trained price forecaster: the booster, its parameters and seed."""

    booster: lgb.Booster
    params: dict = field(default_factory=dict)
    seed: int = 0

    def forecast_day(self, values: np.ndarray, origin: int, day: datetime) -> np.ndarray:
        rows = day_features(values, origin, day)
        return rows[:, 3] + np.asarray(self.booster.predict(rows, num_threads=1), dtype=float)

    def to_text(self) -> str:
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, text: str, params: Mapping | None = None, seed: int = 0) -> PriceModel:
        return cls(lgb.Booster(model_str=text), dict(params or {}), seed)


def _day_starts(history: PriceHistory, first: datetime, end: datetime) -> list[datetime]:
    """Midnights from `first` (at least a week and a day into the history) to before `end`."""
    earliest = history.start + timedelta(hours=MIN_HISTORY_HOURS)
    day = max(first, datetime.combine(earliest.date(), datetime.min.time()))
    day = day if day >= earliest else day + timedelta(days=1)
    days = []
    while day + timedelta(hours=DAY) <= end:
        days.append(day)
        day += timedelta(days=1)
    return days


def train_price_model(
    history: PriceHistory, seed: int, params: Mapping | None = None, train_end: datetime | None = None
) -> PriceModel:
    """Fit on every whole day of the history before `train_end` (default: its end) that has a week and a day
    of history before it."""
    end = min(train_end or history.end, history.end)
    days = _day_starts(history, history.start, end)
    if len(days) < 7:
        raise InputDataError(
            f"price history of {history.node} before {end:%Y-%m-%d} gives {len(days)} trainable days;"
            f" the forecaster needs at least 7 (that is {MIN_HISTORY_HOURS // 24 + 7} days of hourly prices)"
        )
    rows, targets = [], []
    for day in days:
        origin = history.index_of(day)
        rows.append(day_features(history.values, origin, day))
        targets.append(history.values[origin : origin + DAY] - history.values[origin - DAY : origin])
    merged = {**DEFAULT_PARAMS, **(params or {})}
    rounds = int(merged.pop("num_boost_round"))
    lgb_params = {
        **merged,
        "objective": "l1",
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }
    data = lgb.Dataset(np.vstack(rows), np.concatenate(targets), feature_name=list(FEATURES))
    booster = lgb.train(lgb_params, data, num_boost_round=rounds)
    return PriceModel(booster, {**merged, "num_boost_round": rounds}, seed)


def _origin_index(history: PriceHistory, origin: datetime) -> int:
    index = history.index_of(origin)
    if index < MIN_HISTORY_HOURS:
        raise InputDataError(
            f"forecast origin {origin:%Y-%m-%d} needs {MIN_HISTORY_HOURS} hours of {history.node} history before"
            f" it; the history starts {history.start:%Y-%m-%d %H:%M}"
        )
    if index > len(history.values):
        raise InputDataError(
            f"forecast origin {origin:%Y-%m-%d} is after the end of the {history.node} history"
            f" ({history.end:%Y-%m-%d %H:%M}); give history up to the origin"
        )
    return index


def predict_prices(model: PriceModel, history: PriceHistory, origin: datetime, horizon_hours: int) -> np.ndarray:
    """Prices of the `horizon_hours` hours from midnight `origin`, using only history before it."""
    if not 1 <= horizon_hours <= MAX_HORIZON_HOURS:
        raise InputDataError(f"horizon must be 1 to {MAX_HORIZON_HOURS} hours, got {horizon_hours}")
    index = _origin_index(history, origin)
    values = history.values[:index].copy()
    for k in range(-(-horizon_hours // DAY)):
        day = origin + timedelta(days=k)
        values = np.concatenate([values, model.forecast_day(values, len(values), day)])
    return values[index : index + horizon_hours]


def naive_prices(history: PriceHistory, origin: datetime, horizon_hours: int, season: int) -> np.ndarray:
    """Seasonal naive from the origin: the same hour `season` hours before, repeating the last season."""
    index = _origin_index(history, origin)
    return np.resize(history.values[index - season : index], horizon_hours)


def forecast_prices(
    model: PriceModel, history: PriceHistory, start: date, days: int, horizon_hours: int
) -> pl.DataFrame:
    """Rolling origin: for each of `days` days from `start`, that day's forecast. Columns `origin, hour, price`."""
    if days < 1:
        raise InputDataError(f"days must be at least 1, got {days}")
    origins, hours, prices = [], [], []
    for k in range(days):
        origin = datetime.combine(start, datetime.min.time()) + timedelta(days=k)
        values = predict_prices(model, history, origin, horizon_hours)
        origins += [origin] * horizon_hours
        hours += [origin + timedelta(hours=h) for h in range(horizon_hours)]
        prices += [round(float(v), 4) for v in values]
    return pl.DataFrame({"origin": origins, "hour": hours, "price": prices})


@dataclass(frozen=True)
class PriceEvaluation:
    """MAE over the rolling origins of the held-back period (`table`: model -> {mae, origins})."""

    table: dict[str, dict[str, float]]
    holdout_start: datetime
    holdout_end: datetime
    train_days: int
    model: PriceModel


def evaluate_prices(
    history: PriceHistory,
    seed: int,
    holdout_start: datetime,
    holdout_end: datetime | None = None,
    params: Mapping | None = None,
    horizon_hours: int = DAY,
) -> PriceEvaluation:
    """Train on the history before `holdout_start`; forecast each day of the held-back period from midnight
    (rolling origin, `horizon_hours` ahead) and compare with the two seasonal-naive baselines."""
    end = min(holdout_end or history.end, history.end)
    model = train_price_model(history, seed, params, train_end=holdout_start)
    origins = [d for d in _day_starts(history, holdout_start, end - timedelta(hours=horizon_hours - DAY))]
    if not origins:
        raise InputDataError(f"no whole held-back day between {holdout_start:%Y-%m-%d} and {end:%Y-%m-%d}")
    actual, ours, yesterday, last_week = [], [], [], []
    for origin in origins:
        index = history.index_of(origin)
        actual.append(history.values[index : index + horizon_hours])
        ours.append(predict_prices(model, history, origin, horizon_hours))
        yesterday.append(naive_prices(history, origin, horizon_hours, DAY))
        last_week.append(naive_prices(history, origin, horizon_hours, WEEK))
    truth = np.concatenate(actual)
    table = {
        name: {"mae": mae(truth, np.concatenate(values)), "origins": float(len(origins))}
        for name, values in (("lightgbm", ours), ("same_hour_yesterday", yesterday), ("same_hour_last_week", last_week))
    }
    train_days = len(_day_starts(history, history.start, holdout_start))
    return PriceEvaluation(table, origins[0], origins[-1] + timedelta(days=1), train_days, model)


def price_gate(evaluation: PriceEvaluation) -> tuple[bool, str]:
    """Promote only a forecaster whose MAE beats both seasonal-naive baselines."""
    ours = evaluation.table["lightgbm"]["mae"]
    worse = [
        f"{name} ({v['mae']:.2f})" for name, v in evaluation.table.items() if name != "lightgbm" and ours >= v["mae"]
    ]
    if worse:
        return False, f"MAE {ours:.2f} does not beat {', '.join(worse)}"
    return True, f"MAE {ours:.2f} beats both baselines"
