"""The class a job is routed by: the declared one, else the workload classifier's prediction (injected).

The router stays pure: whoever builds jobs passes a `Classify` callable (the stream worker loads the newest
promoted model from the registry, see models.live). A confident latency-sensitive prediction protects the job
from preemption; every job whose class was not declared carries a note that the decision records repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hcp.records.workloads import QosClass, WorkloadRequest


@dataclass(frozen=True)
class PredictedClass:
    """A classifier's most likely class for a workload and its probability."""

    qos_class: QosClass
    probability: float


Classify = Callable[[WorkloadRequest], PredictedClass]


@dataclass(frozen=True)
class ResolvedClass:
    """The class and preemptibility a job gets, and the note saying how (None for a declared class)."""

    qos_class: QosClass
    preemptible: bool
    note: str | None = None


def resolve_class(
    request: WorkloadRequest,
    classify: Classify | None,
    ls_confidence: float = 0.8,
    default_qos: QosClass = QosClass.BE,
) -> ResolvedClass:
    """Declared class as is; else the prediction (LS at `ls_confidence` or more: not preemptible); else default."""
    if request.qos_class is not None:
        return ResolvedClass(request.qos_class, request.preemptible)
    if classify is None:
        note = f"no class declared and no classifier loaded: routed as {default_qos.value}"
        return ResolvedClass(default_qos, request.preemptible, note)
    predicted = classify(request)
    note = f"class {predicted.qos_class.value} predicted (p={predicted.probability:.2f})"
    if predicted.qos_class is QosClass.LS and predicted.probability >= ls_confidence:
        return ResolvedClass(QosClass.LS, False, f"{note}; protected from preemption")
    return ResolvedClass(predicted.qos_class, request.preemptible, note)
