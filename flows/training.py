"""The training flows: train, evaluate against the baselines, gate and register each model.

`train_models` runs the three; each model also has its own flow. A model that does not beat its baselines is
registered with `passed_gate: false` (kept for the record, never loaded) and the flow says so in its log and its
result. Tasks take file paths and return small summaries (metric tables, the version registered).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.exceptions import MissingContextError

from models import classifier, demand, prices
from models.frames import read_csv
from models.loading import CLASSIFIER_NAME, DEMAND_NAME, PRICES_NAME
from models.registry import register_model

CLASSIFIER, DEMAND, PRICES = CLASSIFIER_NAME, DEMAND_NAME, PRICES_NAME


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _report(name: str, passed: bool, reason: str, version: str) -> None:
    if passed:
        _logger().info("%s %s promoted: %s", name, version, reason)
    else:
        _logger().warning("%s %s NOT promoted (worse than its baseline): %s", name, version, reason)


def _register_verdict(
    home: str, name: str, files: dict[str, str], metadata: dict[str, Any], metrics: Any, passed: bool, reason: str
) -> dict[str, Any]:
    """Register the model with its metadata, metrics and gate verdict; log the verdict; return the flow summary."""
    record = {**metadata, "metrics": metrics, "passed_gate": passed, "gate": reason}
    version = register_model(Path(home), name, files, record)
    _report(name, passed, reason, version.version)
    return {"model": name, "version": version.version, "passed_gate": passed, "gate": reason, "metrics": metrics}


@task
def train_classifier_task(
    pods_file: str, home: str, seed: int, params: dict | None = None, min_accuracy: float = 0.97
) -> dict[str, Any]:
    """Evaluate on a seeded held-back split, gate, register the model trained on the training share."""
    pods = read_csv(Path(pods_file), "pods", (*classifier.POD_FEATURE_COLUMNS, "qos"))
    evaluation = classifier.evaluate_classifier(pods, seed, params)
    passed, reason = classifier.classifier_gate(evaluation, min_accuracy)
    created = pods["creation_time"]
    return _register_verdict(
        home,
        CLASSIFIER,
        {"model.txt": evaluation.model.to_text()},
        {
            "params": evaluation.model.params,
            "seed": seed,
            "classes": list(classifier.CLASSES),
            "features": list(classifier.FEATURES),
            "data_window": {
                "file": pods_file,
                "rows": len(pods),
                "train_rows": evaluation.train_rows,
                "test_rows": evaluation.test_rows,
                "creation_time_min_s": float(created.min()),
                "creation_time_max_s": float(created.max()),
                "split": "stratified random, 20 % held back",
            },
        },
        evaluation.table,
        passed,
        reason,
    )


@task
def train_demand_task(requests_file: str, home: str, seed: int, params: dict | None = None) -> dict[str, Any]:
    """Evaluate on the last 7 days held back, gate, then register models refitted on the whole history."""
    hourly = demand.hourly_demand(read_csv(Path(requests_file), "requests", ("gmt_create",)))
    evaluation = demand.evaluate_demand(hourly, seed, params)
    passed, reason = demand.demand_gate(evaluation)
    fitted = {target: demand.train_demand(hourly, seed, params, target) for target in demand.TARGETS}
    return _register_verdict(
        home,
        DEMAND,
        {f"{target}.json": model.to_json() for target, model in fitted.items()},
        {
            "params": fitted["requests"].params,
            "seed": seed,
            "last_hour": fitted["requests"].last_hour.isoformat(),
            "data_window": {
                "file": requests_file,
                "first_hour": hourly["hour"].min().isoformat(),
                "last_hour": hourly["hour"].max().isoformat(),
                "evaluation_train_end": evaluation.train_end.isoformat(),
                "held_back_hours": evaluation.test_hours,
            },
        },
        evaluation.table,
        passed,
        reason,
    )


@task
def train_prices_task(
    prices_file: str, home: str, seed: int, node: str, holdout_start: str, params: dict | None = None
) -> dict[str, Any]:
    """Rolling-origin evaluation over the held-back period, gate, then register a model refitted on everything."""
    history = prices.day_ahead_history(
        read_csv(Path(prices_file), "day-ahead prices", (prices.TIME_COLUMN, node)), node
    )
    start = datetime.fromisoformat(holdout_start)
    evaluation = prices.evaluate_prices(history, seed, start, params=params)
    passed, reason = prices.price_gate(evaluation)
    final = prices.train_price_model(history, seed, params)
    return _register_verdict(
        home,
        PRICES,
        {"model.txt": final.to_text()},
        {
            "params": final.params,
            "seed": seed,
            "node": node,
            "features": list(prices.FEATURES),
            "data_window": {
                "file": prices_file,
                "first_hour": history.start.isoformat(),
                "end": history.end.isoformat(),
                "holdout_start": evaluation.holdout_start.isoformat(),
                "holdout_end": evaluation.holdout_end.isoformat(),
                "evaluation_train_days": evaluation.train_days,
            },
        },
        evaluation.table,
        passed,
        reason,
    )


@flow(name="train-classifier")
def train_classifier(pods_file: str, home: str, seed: int = 7, params: dict | None = None) -> dict[str, Any]:
    """Train, evaluate, gate and register the workload classifier."""
    return train_classifier_task(pods_file, home, seed, params)


@flow(name="train-demand-forecaster")
def train_demand_forecaster(requests_file: str, home: str, seed: int = 7, params: dict | None = None) -> dict[str, Any]:
    """Train, evaluate, gate and register the demand forecaster."""
    return train_demand_task(requests_file, home, seed, params)


@flow(name="train-price-forecaster")
def train_price_forecaster(
    prices_file: str,
    home: str,
    seed: int = 7,
    node: str = "HB_WEST",
    holdout_start: str = "2023-07-01",
    params: dict | None = None,
) -> dict[str, Any]:
    """Train, evaluate, gate and register the price forecaster."""
    return train_prices_task(prices_file, home, seed, node, holdout_start, params)


@flow(name="train-models")
def train_models(
    pods_file: str,
    requests_file: str,
    prices_file: str,
    home: str,
    seed: int = 7,
    node: str = "HB_WEST",
    holdout_start: str = "2023-07-01",
) -> list[dict[str, Any]]:
    """Train, evaluate, gate and register the three models; one summary per model."""
    return [
        train_classifier_task(pods_file, home, seed),
        train_demand_task(requests_file, home, seed),
        train_prices_task(prices_file, home, seed, node, holdout_start),
    ]
