"""Reading the Alibaba GPU trace (cluster-trace-gpu-v2023) into router nodes and jobs.

Mapping of a pod to a job, as documented in docs/routing.md:
- demand: `num_gpu` GPUs of `gpu_milli`/1000 each (a share of one GPU when `num_gpu` is 1); pods asking no GPU
  (`num_gpu` 0, CPU-only) are not routed and are counted apart;
- type: `gpu_spec`, empty = any type;
- class: `qos`; priority and preemptibility from the class (`QOS_PRIORITY`, `PREEMPTIBLE_QOS`);
- arrival: `creation_time`; run time: `deletion_time - scheduled_time`, or `- creation_time` for pods never
  scheduled. Trace second 0 is placed at `TRACE_EPOCH` (the trace has no calendar).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass
from hcp.routing.classification import PredictedClass
from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import MILLI_PER_GPU, Job, Node

TRACE_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
TRACE_CUSTOMER = "alibaba-trace"
POD_COLUMNS = ("name", "num_gpu", "gpu_milli", "gpu_spec", "qos", "creation_time", "deletion_time", "scheduled_time")
NODE_COLUMNS = ("sn", "gpu", "model")
QOS_PRIORITY: dict[QosClass, int] = {QosClass.GUARANTEED: 9, QosClass.LS: 7, QosClass.BURSTABLE: 4, QosClass.BE: 1}
PREEMPTIBLE_QOS = frozenset({QosClass.BE, QosClass.BURSTABLE})
ClassifyPods = Callable[[pl.DataFrame], Sequence[PredictedClass]]
"""Predicts the class of each pod (row) of a frame with the pods file's columns (models.live.pod_classifier)."""


@dataclass(frozen=True)
class TraceJob:
    """A pod as a job, with the run time the replay gives it (seconds) and its arrival in trace seconds."""

    job: Job
    arrival_s: float
    run_s: float


@dataclass(frozen=True)
class TracePods:
    """The pods that ask for GPUs, as jobs in arrival order, and how many asked for none."""

    jobs: tuple[TraceJob, ...]
    pods_total: int
    cpu_only: int


def read_trace_nodes(path: Path, every_nth: int = 1) -> list[Node]:
    """The nodes file as router nodes (`sn` id, `model` type, `gpu` count); `every_nth` > 1 keeps a sample."""
    if every_nth < 1:
        raise ConfigError(f"every_nth must be >= 1, got {every_nth}")
    frame = _read_csv(path, "nodes", NODE_COLUMNS).filter(pl.col("gpu") > 0)
    rows = frame.select("sn", "model", "gpu").rows()[::every_nth]
    if not rows:
        raise ConfigError(f"nodes file {path} has no node with a GPU")
    return [Node(node_id=str(sn), gpu_type=str(model), gpus=int(gpus)) for sn, model, gpus in rows]


def read_trace_pods(path: Path, classify: ClassifyPods | None = None) -> TracePods:
    """The pods file as jobs in arrival order (ties by name). Pods with an empty `qos` take the class
    `classify` predicts (their jobs carry a note saying so); without `classify` an empty `qos` is an error."""
    frame = _read_csv(path, "pods", POD_COLUMNS)
    if classify is not None and frame["qos"].null_count():
        frame = _with_predicted_classes(frame, classify)
    empty = [c for c in POD_COLUMNS if c not in ("gpu_spec", "scheduled_time") and frame[c].null_count()]
    if empty:
        hint = "; pods without a qos need a trained classifier (hcp models train)" if "qos" in empty else ""
        raise ConfigError(f"pods file {path} has empty cells in columns {empty}{hint}")
    try:
        frame = frame.with_columns(
            pl.col("num_gpu", "gpu_milli").cast(pl.Int64),
            pl.col("creation_time", "deletion_time", "scheduled_time").cast(pl.Float64),
            pl.col("gpu_spec").cast(pl.String),
        )
    except pl.exceptions.PolarsError as err:
        raise ConfigError(f"pods file {path}: GPU counts and times must be numbers ({err})") from err
    known = {q.value for q in QosClass}
    unknown = sorted(set(frame["qos"].drop_nulls().unique().to_list()) - known)
    if unknown or frame["qos"].null_count():
        raise ConfigError(f"pods file {path}: qos must be one of {sorted(known)}, found {unknown or 'empty'}")
    demanding = frame.filter(pl.col("num_gpu") > 0).sort("creation_time", "name")
    try:
        jobs = tuple(_trace_job(row) for row in demanding.iter_rows(named=True))
    except RoutingError as err:
        raise ConfigError(f"pods file {path}: {err}") from err
    return TracePods(jobs=jobs, pods_total=frame.height, cpu_only=frame.height - demanding.height)


def _with_predicted_classes(frame: pl.DataFrame, classify: ClassifyPods) -> pl.DataFrame:
    frame = frame.with_row_index("_row")
    missing = frame.filter(pl.col("qos").is_null())
    predicted = classify(missing)
    notes = pl.DataFrame(
        {
            "_row": missing["_row"],
            "_qos": [p.qos_class.value for p in predicted],
            "class_note": [f"class {p.qos_class.value} predicted (p={p.probability:.2f})" for p in predicted],
        }
    )
    joined = frame.join(notes, on="_row", how="left").sort("_row")
    return joined.with_columns(pl.coalesce("qos", "_qos").alias("qos")).drop("_row", "_qos")


def _trace_job(row: dict[str, object]) -> TraceJob:
    num_gpu = int(row["num_gpu"])  # type: ignore[call-overload]
    milli = int(row["gpu_milli"])  # type: ignore[call-overload]
    gpus = num_gpu * milli / MILLI_PER_GPU if num_gpu == 1 else float(num_gpu)
    qos = QosClass(row["qos"])
    created = float(row["creation_time"])  # type: ignore[arg-type]
    scheduled = row["scheduled_time"]
    started = created if scheduled is None else float(scheduled)  # type: ignore[arg-type]
    run_s = max(0.0, float(row["deletion_time"]) - started)  # type: ignore[arg-type]
    spec = row["gpu_spec"]
    job = Job(
        job_id=str(row["name"]),
        customer_id=TRACE_CUSTOMER,
        gpu_type=str(spec) if spec else None,
        gpus=gpus,
        priority=QOS_PRIORITY[qos],
        qos_class=qos,
        preemptible=qos in PREEMPTIBLE_QOS,
        submitted_at=TRACE_EPOCH + timedelta(seconds=created),
        expected_duration_s=run_s,
        class_note=row.get("class_note"),  # type: ignore[arg-type]
    )
    return TraceJob(job=job, arrival_s=created, run_s=run_s)


def _read_csv(path: Path, label: str, columns: tuple[str, ...]) -> pl.DataFrame:
    if not path.is_file():
        raise ConfigError(f"{label} file {path} does not exist")
    try:
        frame = pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise ConfigError(f"cannot read {label} file {path}: {err}") from err
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"{label} file {path} lacks columns {missing} (has: {', '.join(frame.columns)})")
    return frame
