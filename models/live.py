"""The classifier as the router's `Classify` callable: a workload request's features, its predicted class."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import polars as pl

from hcp.records.workloads import QosClass, WorkloadRequest
from hcp.routing.classification import Classify, PredictedClass
from hcp.routing.trace import ClassifyPods
from models.classifier import CLASSES, ClassifierModel, WorkloadFeatures, pod_features
from models.exceptions import ModelError
from models.loading import load_classifier

MILLI_PER_GPU = 1000


def request_features(request: WorkloadRequest) -> WorkloadFeatures:
    """What a request states at submission: whole GPUs, CPU and memory if given, its submission time."""
    return WorkloadFeatures(
        num_gpu=float(request.gpu_count),
        gpu_milli=float(MILLI_PER_GPU),
        submitted_at=request.event_time,
        cpu_milli=request.cpu_milli,
        memory_mib=request.memory_mib,
    )


def request_classifier(model: ClassifierModel) -> Classify:
    """A `Classify` callable backed by `model`."""

    def classify(request: WorkloadRequest) -> PredictedClass:
        prediction = model.classify(request_features(request))
        return PredictedClass(prediction.qos_class, prediction.probability)

    return classify


def load_request_classifier(home: Path) -> tuple[Classify | None, str]:
    """The newest promoted classifier under `home` as a `Classify` callable, and a line saying what was loaded
    (or that none is registered, in which case unclassified requests are routed as best effort)."""
    try:
        loaded = load_classifier(home)
    except (ModelError, lgb.basic.LightGBMError, OSError, ValueError) as err:
        where = home / "models"
        return None, f"workload classifier under {where} unreadable ({err}): unclassified workloads routed as BE"
    if loaded is None:
        return None, f"no promoted workload classifier under {home / 'models'}: unclassified workloads routed as BE"
    model, version = loaded
    return request_classifier(model), f"workload classifier {version.version} loaded from {version.path}"


def pod_classifier(model: ClassifierModel) -> ClassifyPods:
    """A `ClassifyPods` callable (for `hcp route-replay`): the predicted class of each pod of a trace frame."""

    def classify(pods: pl.DataFrame) -> list[PredictedClass]:
        probs = model.probabilities(pod_features(pods))
        best = probs.argmax(axis=1)
        return [PredictedClass(QosClass(CLASSES[i]), float(probs[k, i])) for k, i in enumerate(best)]

    return classify
