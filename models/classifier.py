"""The workload classifier: a workload's QoS class (LS, BE, Burstable, Guaranteed) from what is known at submission.

Features are only the resources requested and the submission time (`FEATURES`); the label is the trace's `qos`.
LightGBM (native API, one thread, deterministic) with balanced class weights; the baselines it must beat are the
majority class and a logistic regression on the same features. Pure: frames in, models and tables out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from hcp.records.workloads import QosClass
from models.exceptions import InputDataError
from models.frames import require_columns
from models.metrics import classification_scores

CLASSES: tuple[str, ...] = tuple(q.value for q in QosClass)
POD_FEATURE_COLUMNS = ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "creation_time")
FEATURES = (
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_total_milli",
    "memory_per_cpu",
    "hour_of_day",
    "day_of_week",
)
MIN_TRAINING_ROWS = 20
DEFAULT_PARAMS: dict[str, float | int | str] = {
    "num_boost_round": 100,
    "learning_rate": 0.15,
    "num_leaves": 31,
    "min_data_in_leaf": 10,
    "lambda_l2": 0.0,
}


@dataclass(frozen=True)
class WorkloadFeatures:
    """What a workload states at submission; unknown CPU or memory requests are None (LightGBM treats them as
    missing)."""

    num_gpu: float
    gpu_milli: float
    submitted_at: datetime
    cpu_milli: float | None = None
    memory_mib: float | None = None


@dataclass(frozen=True)
class QosPrediction:
    """The most likely class and its probability."""

    qos_class: QosClass
    probability: float


@dataclass
class ClassifierModel:
    """A trained classifier: the booster, its parameters and seed."""

    booster: lgb.Booster
    params: dict = field(default_factory=dict)
    seed: int = 0

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (rows x `CLASSES`)."""
        # One thread: LightGBM's default thread pool costs ~20 ms per call on a busy machine, one thread ~2 ms.
        probs = self.booster.predict(features, num_threads=1)
        return np.asarray(probs, dtype=float).reshape(len(features), len(CLASSES))

    def classify(self, workload: WorkloadFeatures) -> QosPrediction:
        """The live path: one workload's most likely class (the router's `classify` callable)."""
        probs = self.probabilities(workload_matrix([workload]))[0]
        best = int(np.argmax(probs))
        return QosPrediction(QosClass(CLASSES[best]), float(probs[best]))

    def to_text(self) -> str:
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, text: str, params: Mapping | None = None, seed: int = 0) -> ClassifierModel:
        return cls(lgb.Booster(model_str=text), dict(params or {}), seed)


def pod_features(pods: pl.DataFrame) -> np.ndarray:
    """The feature matrix of a pod trace (`creation_time` in trace seconds: its time of day and day of week)."""
    require_columns(pods, POD_FEATURE_COLUMNS, "pods")
    frame = pods.select([pl.col(c).cast(pl.Float64, strict=False) for c in POD_FEATURE_COLUMNS])
    created = frame["creation_time"].to_numpy()
    return _matrix(
        frame["cpu_milli"].to_numpy(),
        frame["memory_mib"].to_numpy(),
        frame["num_gpu"].to_numpy(),
        frame["gpu_milli"].to_numpy(),
        (created % 86400) / 3600,
        (created // 86400) % 7,
    )


def workload_matrix(workloads: list[WorkloadFeatures]) -> np.ndarray:
    """The feature matrix of live workloads (submission time in UTC)."""

    def value(x: float | None) -> float:
        return math.nan if x is None else float(x)

    times = [w.submitted_at for w in workloads]
    return _matrix(
        np.array([value(w.cpu_milli) for w in workloads]),
        np.array([value(w.memory_mib) for w in workloads]),
        np.array([float(w.num_gpu) for w in workloads]),
        np.array([float(w.gpu_milli) for w in workloads]),
        np.array([t.hour + t.minute / 60 for t in times], dtype=float),
        np.array([t.weekday() for t in times], dtype=float),
    )


def _matrix(cpu, memory, num_gpu, gpu_milli, hour, weekday) -> np.ndarray:  # type: ignore[no-untyped-def]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_cpu = np.where(cpu > 0, memory / cpu, np.nan)
    return np.column_stack([cpu, memory, num_gpu, gpu_milli, num_gpu * gpu_milli, per_cpu, hour, weekday])


def labels_of(pods: pl.DataFrame) -> np.ndarray:
    """The `qos` column as class indices into `CLASSES`; unknown or empty labels are an error."""
    require_columns(pods, ("qos",), "pods")
    qos = pods["qos"].cast(pl.String)
    unknown = sorted({str(v) for v in qos.to_list()} - set(CLASSES))
    if unknown:
        raise InputDataError(f"pods qos must be one of {', '.join(CLASSES)}; found {', '.join(unknown)}")
    return np.array([CLASSES.index(v) for v in qos.to_list()], dtype=int)


def train_classifier(
    features: np.ndarray, labels: np.ndarray, seed: int, params: Mapping | None = None
) -> ClassifierModel:
    """Fit the LightGBM classifier (balanced class weights, one thread, deterministic) on class indices."""
    if len(labels) < MIN_TRAINING_ROWS:
        raise InputDataError(f"the classifier needs at least {MIN_TRAINING_ROWS} labelled pods, got {len(labels)}")
    merged = {**DEFAULT_PARAMS, **(params or {})}
    rounds = int(merged.pop("num_boost_round"))
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(float)
    weights = len(labels) / (np.count_nonzero(counts) * counts[labels])
    lgb_params = {
        **merged,
        "objective": "multiclass",
        "num_class": len(CLASSES),
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbose": -1,
    }
    data = lgb.Dataset(features, labels, weight=weights, feature_name=list(FEATURES), free_raw_data=False)
    booster = lgb.train(lgb_params, data, num_boost_round=rounds)
    return ClassifierModel(booster, {**merged, "num_boost_round": rounds}, seed)


def predict_classifier(model: ClassifierModel, pods: pl.DataFrame) -> pl.DataFrame:
    """`name, predicted_qos, prob_<class>...` for each pod (a `name` column is used when present)."""
    probs = model.probabilities(pod_features(pods))
    names = pods["name"].cast(pl.String) if "name" in pods.columns else pl.Series("name", range(len(pods)))
    columns = {"name": names, "predicted_qos": [CLASSES[i] for i in probs.argmax(axis=1)]}
    columns.update({f"prob_{c}": np.round(probs[:, i], 6) for i, c in enumerate(CLASSES)})
    return pl.DataFrame(columns)


@dataclass(frozen=True)
class ClassifierEvaluation:
    """Scores on the held-back split of the classifier and its baselines (`table`: model -> metric -> value)."""

    table: dict[str, dict[str, float]]
    train_rows: int
    test_rows: int
    model: ClassifierModel

    @property
    def scores(self) -> dict[str, float]:
        return self.table["lightgbm"]


def split_indices(labels: np.ndarray, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split, stratified by class when every class present has at least two members."""
    index = np.arange(len(labels))
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    train, test = train_test_split(index, test_size=test_share, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(test)


def evaluate_classifier(
    pods: pl.DataFrame, seed: int, params: Mapping | None = None, test_share: float = 0.2
) -> ClassifierEvaluation:
    """Train on a seeded split, score the held-back share against the majority class and a logistic regression."""
    features, labels = pod_features(pods), labels_of(pods)
    train, test = split_indices(labels, test_share, seed)
    model = train_classifier(features[train], labels[train], seed, params)
    truth = [CLASSES[i] for i in labels[test]]
    predicted = [CLASSES[i] for i in model.probabilities(features[test]).argmax(axis=1)]
    majority = CLASSES[int(np.bincount(labels[train]).argmax())]
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    filled = np.nan_to_num(features)
    logistic.fit(filled[train], labels[train])
    table = {
        "lightgbm": classification_scores(truth, predicted, CLASSES),
        "majority_class": classification_scores(truth, [majority] * len(test), CLASSES),
        "logistic_regression": classification_scores(
            truth, [CLASSES[i] for i in logistic.predict(filled[test])], CLASSES
        ),
    }
    return ClassifierEvaluation(table, len(train), len(test), model)


def classifier_gate(evaluation: ClassifierEvaluation, min_accuracy: float = 0.97) -> tuple[bool, str]:
    """Promote only a classifier that beats both baselines in macro-F1 and reaches `min_accuracy`."""
    ours = evaluation.table["lightgbm"]
    failures = [
        f"macro-F1 {ours['macro_f1']:.4f} does not beat {name} ({scores['macro_f1']:.4f})"
        for name, scores in evaluation.table.items()
        if name != "lightgbm" and not ours["macro_f1"] > scores["macro_f1"]
    ]
    if ours["accuracy"] < min_accuracy:
        failures.append(f"accuracy {ours['accuracy']:.4f} is below {min_accuracy}")
    if failures:
        return False, "; ".join(failures)
    return True, f"macro-F1 {ours['macro_f1']:.4f} beats both baselines; accuracy {ours['accuracy']:.4f}"
