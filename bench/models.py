"""Benchmark: model training, through the project's train functions and through the bare libraries.

Run: `python -m bench.models [--rows 100000] [--trees 100] [--fits 5] [--out results.json]`.

- LightGBM: `models.classifier.train_classifier` (the workload classifier: 6 features, 4 classes, one thread)
  on synthetic rows, in rows x trees per second, beside `lightgbm.train` called directly with the same
  parameters on the same matrix (the cost of the project's wrapper: class weights, the Dataset it builds);
- Prophet: `models.demand.train_demand` on a synthetic 60-day hourly series, in fits per second, beside
  `Prophet().fit` on the same frame.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import polars as pl

from models.classifier import CLASSES, DEFAULT_PARAMS, FEATURES, train_classifier
from models.demand import quiet_stan, train_demand


def synthetic_pods(rows: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.random((rows, len(FEATURES))) * 100.0
    labels = (features[:, 0] > 50).astype(int) + (features[:, 2] > 50).astype(int) * 2
    return features, labels % len(CLASSES)


def lightgbm_rates(rows: int, trees: int) -> dict[str, float]:
    features, labels = synthetic_pods(rows)
    params = {"num_boost_round": trees, "min_data_in_leaf": 20}
    started = time.perf_counter()
    train_classifier(features, labels, seed=7, params=params)
    wrapped = time.perf_counter() - started
    bare_params = {k: v for k, v in DEFAULT_PARAMS.items() if k != "num_boost_round"} | {
        "objective": "multiclass",
        "num_class": len(CLASSES),
        "num_threads": 1,
        "verbose": -1,
        "force_row_wise": True,
        "deterministic": True,
        "seed": 7,
        "min_data_in_leaf": 20,
    }
    started = time.perf_counter()
    lgb.train(bare_params, lgb.Dataset(features, labels), num_boost_round=trees)
    bare = time.perf_counter() - started
    return {
        "rows": rows,
        "trees": trees,
        "train_classifier_rows_x_trees_per_s": round(rows * trees / wrapped),
        "bare_lightgbm_rows_x_trees_per_s": round(rows * trees / bare),
        "ratio": round(bare / wrapped, 3),
    }


def hourly_series(days: int = 60, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    first = datetime(2024, 1, 1, tzinfo=UTC)
    hours = pl.datetime_range(first, first + timedelta(days=days), "1h", eager=True).dt.replace_time_zone(None)
    t = np.arange(len(hours))
    requests = 50 + 20 * np.sin(2 * np.pi * t / 24) + 5 * np.sin(2 * np.pi * t / 168) + rng.normal(0, 3, len(t))
    return pl.DataFrame({"hour": hours, "requests": requests, "gpu_hours": requests / 10})


def prophet_rates(fits: int) -> dict[str, float]:
    from prophet import Prophet

    quiet_stan()
    logging.getLogger("cmdstanpy").setLevel(logging.ERROR)
    hourly = hourly_series()
    started = time.perf_counter()
    for seed in range(fits):
        train_demand(hourly, seed=seed)
    wrapped = time.perf_counter() - started
    frame = pd.DataFrame({"ds": hourly["hour"].to_pandas(), "y": hourly["requests"].to_numpy()})
    started = time.perf_counter()
    for _ in range(fits):
        Prophet(yearly_seasonality=False, uncertainty_samples=200).fit(frame)
    bare = time.perf_counter() - started
    return {
        "fits": fits,
        "series_hours": hourly.height,
        "train_demand_fits_per_s": round(fits / wrapped, 2),
        "bare_prophet_fits_per_s": round(fits / bare, 2),
        "ratio": round(bare / wrapped, 3),
    }


def measure(rows: int, trees: int, fits: int) -> dict[str, object]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "lightgbm": lightgbm_rates(rows, trees),
        "prophet": prophet_rates(fits),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="LightGBM training rows")
    parser.add_argument("--trees", type=int, default=100, help="LightGBM boosting rounds")
    parser.add_argument("--fits", type=int, default=5, help="Prophet fits to time")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.rows, args.trees, args.fits)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
