"""Prophet as a price forecaster, kept only for the measured comparison with LightGBM (docs/models.md).

For each held-back day it fits Prophet (daily and weekly seasons) to the `window_days` before the day and
forecasts the day's hours: the same rolling origin as `models.prices.evaluate_prices`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from models.demand import quiet_stan
from models.metrics import mae
from models.prices import DAY, PriceHistory, _day_starts


def evaluate_prophet_prices(
    history: PriceHistory, holdout_start: datetime, holdout_end: datetime | None = None, window_days: int = 56
) -> dict[str, float]:
    """MAE of Prophet over the rolling origins of the held-back period (one fit per origin)."""
    from prophet import Prophet

    quiet_stan()
    end = min(holdout_end or history.end, history.end)
    truth, forecasts = [], []
    for origin in _day_starts(history, holdout_start, end):
        index = history.index_of(origin)
        first = max(0, index - window_days * DAY)
        stamps = [history.start + timedelta(hours=i) for i in range(first, index)]
        model = Prophet(daily_seasonality=True, weekly_seasonality=True, yearly_seasonality=False)
        model.fit(pd.DataFrame({"ds": stamps, "y": history.values[first:index]}))
        future = pd.DataFrame({"ds": [origin + timedelta(hours=h) for h in range(DAY)]})
        forecasts.append(model.predict(future)["yhat"].to_numpy())
        truth.append(history.values[index : index + DAY])
    return {"mae": mae(np.concatenate(truth), np.concatenate(forecasts)), "origins": float(len(truth))}
