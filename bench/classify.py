"""Benchmark: classifying one workload request on the router's path, beside the declared-class baseline.

    .venv/bin/python -m bench.classify [--repeat 2000] [--pods ../shared/data/traces/alibaba_gpu_v2023_pods.csv]

Trains the classifier on the pod trace (seed 7), then times `resolve_class` for an unclassified request (one
LightGBM prediction) and for a request with a declared class (no model call): p50, p99, calls per second.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from hcp.records.workloads import QosClass, WorkloadRequest
from hcp.routing import resolve_class
from models.classifier import labels_of, pod_features, train_classifier
from models.live import request_classifier
from models.settings import SHARED_DATA


def request(qos: QosClass | None) -> WorkloadRequest:
    return WorkloadRequest(
        event_id="bench", event_time=datetime(2023, 1, 16, 12, tzinfo=UTC), job_id="bench", customer_id="acme",
        gpu_type="H100", gpu_count=1, priority=2, qos_class=qos, preemptible=True, expected_duration_s=600,
        cpu_milli=11300, memory_mib=49152,
    )


def timed(call, repeat: int) -> tuple[float, float, float]:
    call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99)), repeat / (values.sum() / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--pods", type=Path, default=SHARED_DATA / "traces" / "alibaba_gpu_v2023_pods.csv")
    args = parser.parse_args()
    pods = pl.read_csv(args.pods)
    classify = request_classifier(train_classifier(pod_features(pods), labels_of(pods), seed=7))
    unclassified, declared = request(None), request(QosClass.LS)
    rows = {
        "unclassified (LightGBM predict)": timed(lambda: resolve_class(unclassified, classify), args.repeat),
        "declared class (baseline)": timed(lambda: resolve_class(declared, classify), args.repeat),
    }
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {args.repeat} calls each")
    print("| measurement | p50 ms | p99 ms | per s |\n| --- | --- | --- | --- |")
    for name, (p50, p99, rate) in rows.items():
        print(f"| {name} | {p50:.3f} | {p99:.3f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
