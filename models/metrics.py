"""Metrics of the evaluation tables: classification scores, MAE and MASE."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def classification_scores(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> dict[str, float]:
    """Accuracy, macro-F1 (over the classes present in truth or prediction) and F1 per class (`f1_<class>`)."""
    present = [c for c in classes if c in set(truth) | set(predicted)]
    scores = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)),
    }
    per_class = f1_score(truth, predicted, labels=list(classes), average=None, zero_division=0)
    scores.update({f"f1_{c}": float(v) for c, v in zip(classes, per_class, strict=True)})
    return scores


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))))


def seasonal_scale(history: np.ndarray, season: int) -> float:
    """MASE's denominator: the in-sample MAE of the seasonal-naive forecast of period `season` (never 0)."""
    history = np.asarray(history, float)
    if len(history) <= season:
        raise ValueError(f"MASE needs more than {season} points of history, got {len(history)}")
    scale = float(np.mean(np.abs(history[season:] - history[:-season])))
    return scale if scale > 0 else 1.0


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: MAE divided by the in-sample seasonal-naive MAE `scale`."""
    return mae(actual, forecast) / scale
