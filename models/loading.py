"""Loading the newest model that passed its gate from the registry."""

from __future__ import annotations

from pathlib import Path

from models.classifier import ClassifierModel
from models.registry import ModelVersion, latest_passing

CLASSIFIER_NAME = "workload_classifier"
DEMAND_NAME = "demand_forecaster"
PRICES_NAME = "price_forecaster"


def load_classifier(home: Path) -> tuple[ClassifierModel, ModelVersion] | None:
    """The newest passing workload classifier under `home`, or None when none is registered."""
    version = latest_passing(home, CLASSIFIER_NAME)
    if version is None:
        return None
    meta = version.metadata
    return ClassifierModel.from_text(version.read_text("model.txt"), meta.get("params"), meta.get("seed", 0)), version
