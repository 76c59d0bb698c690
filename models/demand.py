"""The demand forecaster: hourly AI requests and GPU-hours for the coming hours, with intervals (Prophet).

Input has the shape of the GenAI request trace: `gmt_create` (submission time) and, for GPU-hours,
`exec_time_seconds` (one GPU per request, so its execution seconds / 3600 are its GPU-hours). Hours without a
request count as zero. The model is Prophet with flat growth and a daily season, fitted on the last
`window_hours` of history (chosen by the comparison in docs/models.md). Baselines: the same hour yesterday and
the same hour last week, both as forecasts from the origin (repeat the last day, repeat the last week).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl

from models.exceptions import InputDataError
from models.frames import require_columns
from models.metrics import mae, mase, seasonal_scale

# Prophet logs an ERROR at import when plotly (optional, for its plots) is absent.
logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)

TARGETS = ("requests", "gpu_hours")
MIN_HISTORY_HOURS = 24
WEEK_HOURS = 168
DEFAULT_PARAMS: dict[str, float | int | str | bool] = {
    "growth": "flat",
    "daily_seasonality": True,
    "weekly_seasonality": False,
    "window_hours": WEEK_HOURS,
    "interval_width": 0.8,
    "seasonality_prior_scale": 10.0,
    "changepoint_prior_scale": 0.01,
}


def quiet_stan() -> None:
    """Silence cmdstanpy: it logs every fit at INFO, and an LBFGS fallback at ERROR although Prophet then
    succeeds with Newton; it resets its level when first imported, hence after the import."""
    for name in ("prophet", "cmdstanpy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def hourly_demand(requests: pl.DataFrame) -> pl.DataFrame:
    """`hour, requests, gpu_hours` for every hour from the first to the last request (gaps are zero hours)."""
    require_columns(requests, ("gmt_create",), "requests")
    stamps = requests["gmt_create"]
    if stamps.dtype == pl.String:
        stamps = stamps.str.to_datetime(strict=False)
    if not stamps.dtype.is_temporal() or stamps.null_count() == len(stamps):
        raise InputDataError("requests: gmt_create must hold timestamps like 2024-11-15 16:57:50")
    stamps = stamps.dt.replace_time_zone(None) if getattr(stamps.dtype, "time_zone", None) else stamps
    seconds = (
        requests["exec_time_seconds"].cast(pl.Float64, strict=False).fill_null(0.0)
        if "exec_time_seconds" in requests.columns
        else pl.Series([None] * len(requests), dtype=pl.Float64)
    )
    frame = pl.DataFrame({"hour": stamps.dt.truncate("1h"), "seconds": seconds}).drop_nulls("hour")
    counts = frame.group_by("hour").agg(
        pl.len().cast(pl.Float64).alias("requests"), (pl.col("seconds").sum() / 3600).alias("gpu_hours")
    )
    hours = pl.datetime_range(counts["hour"].min(), counts["hour"].max(), "1h", eager=True).alias("hour")
    filled = pl.DataFrame(hours).join(counts, on="hour", how="left").sort("hour")
    return filled.with_columns(pl.col("requests").fill_null(0.0), pl.col("gpu_hours").fill_null(0.0))


@dataclass
class DemandModel:
    """A fitted Prophet model of one target and the last hour of its history."""

    prophet: object
    target: str
    last_hour: datetime
    params: dict = field(default_factory=dict)
    seed: int = 0

    def to_json(self) -> str:
        from prophet.serialize import model_to_json

        return model_to_json(self.prophet)

    @classmethod
    def from_json(cls, text: str, target: str, last_hour: datetime, params: Mapping, seed: int) -> DemandModel:
        from prophet.serialize import model_from_json

        return cls(model_from_json(text), target, last_hour, dict(params), seed)


def train_demand(
    hourly: pl.DataFrame, seed: int, params: Mapping | None = None, target: str = "requests"
) -> DemandModel:
    """Fit Prophet to the last `window_hours` of `hourly[target]`; needs `MIN_HISTORY_HOURS` hours."""
    from prophet import Prophet

    quiet_stan()
    merged = {**DEFAULT_PARAMS, **(params or {})}
    if target not in TARGETS:
        raise InputDataError(f"demand target must be one of {TARGETS}, got {target!r}")
    if len(hourly) < MIN_HISTORY_HOURS:
        raise InputDataError(
            f"demand history spans {len(hourly)} hours; the forecaster needs at least {MIN_HISTORY_HOURS}"
        )
    window = hourly.tail(int(merged["window_hours"]))
    frame = pd.DataFrame({"ds": window["hour"].to_pandas(), "y": window[target].to_numpy()})
    settings = {k: v for k, v in merged.items() if k != "window_hours"}
    model = Prophet(yearly_seasonality=False, uncertainty_samples=200, **settings)
    model.fit(frame)
    return DemandModel(model, target, window["hour"].max(), merged, seed)


def predict_demand(model: DemandModel, horizon_hours: int) -> pl.DataFrame:
    """`hour, <target>, <target>_lo, <target>_hi` for each hour after the history (never below zero)."""
    if horizon_hours < 1:
        raise InputDataError(f"horizon must be at least one hour, got {horizon_hours}")
    hours = [model.last_hour + timedelta(hours=h) for h in range(1, horizon_hours + 1)]
    state = np.random.get_state()
    np.random.seed(model.seed)  # Prophet samples its intervals from numpy's global generator
    try:
        forecast = model.prophet.predict(pd.DataFrame({"ds": hours}))  # type: ignore[attr-defined]
    finally:
        np.random.set_state(state)
    name = model.target
    return pl.DataFrame(
        {
            "hour": hours,
            name: np.clip(forecast["yhat"].to_numpy(), 0, None),
            f"{name}_lo": np.clip(forecast["yhat_lower"].to_numpy(), 0, None),
            f"{name}_hi": np.clip(forecast["yhat_upper"].to_numpy(), 0, None),
        }
    )


def seasonal_naive(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """Repeat the last `season` values of the history over `horizon` steps."""
    last = np.asarray(history, float)[-season:]
    return np.resize(last, horizon)


@dataclass(frozen=True)
class DemandEvaluation:
    """MASE and MAE per target of Prophet and the two seasonal-naive baselines on the held-back hours."""

    table: dict[str, dict[str, float]]
    train_hours: int
    test_hours: int
    train_end: datetime


def evaluate_demand(
    hourly: pl.DataFrame, seed: int, params: Mapping | None = None, holdout_hours: int = WEEK_HOURS
) -> DemandEvaluation:
    """Hold back the last `holdout_hours`, forecast them from the rest; MASE scaled by the in-sample
    same-hour-yesterday error. Rows of `table`: `<target>:<model>`."""
    needed = holdout_hours + WEEK_HOURS + 24
    if len(hourly) < needed:
        raise InputDataError(
            f"demand evaluation needs {needed} hours (held back {holdout_hours} + a week + a day), got {len(hourly)}"
        )
    train, test = hourly.head(len(hourly) - holdout_hours), hourly.tail(holdout_hours)
    table: dict[str, dict[str, float]] = {}
    for target in TARGETS:
        history, actual = train[target].to_numpy(), test[target].to_numpy()
        scale = seasonal_scale(history, 24)
        forecast = predict_demand(train_demand(train, seed, params, target), holdout_hours)[target].to_numpy()
        candidates = {
            "prophet": forecast,
            "same_hour_yesterday": seasonal_naive(history, 24, holdout_hours),
            "same_hour_last_week": seasonal_naive(history, WEEK_HOURS, holdout_hours),
        }
        for name, values in candidates.items():
            table[f"{target}:{name}"] = {"mase": mase(actual, values, scale), "mae": mae(actual, values)}
    return DemandEvaluation(table, len(train), holdout_hours, train["hour"].max())


def demand_gate(evaluation: DemandEvaluation) -> tuple[bool, str]:
    """Promote only a forecaster whose request MASE beats the same-hour-last-week baseline."""
    ours = evaluation.table["requests:prophet"]["mase"]
    baseline = evaluation.table["requests:same_hour_last_week"]["mase"]
    if ours < baseline:
        return True, f"requests MASE {ours:.3f} beats same-hour-last-week {baseline:.3f}"
    return False, f"requests MASE {ours:.3f} does not beat same-hour-last-week {baseline:.3f}"
