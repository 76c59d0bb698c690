"""Writing a route replay: `summary.json` (both policies, the config) and `decisions.csv` (every decision)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import polars as pl

from hcp.routing.jobs import RouterConfig
from hcp.routing.replay import PolicyRun, RouteReplay

DECISION_COLUMNS = (
    "policy",
    "at",
    "kind",
    "job_id",
    "customer_id",
    "qos_class",
    "priority",
    "preemptible",
    "gpu_type",
    "gpus",
    "node_id",
    "queue_wait_s",
    "reason",
)


def summarise_replay(replay: RouteReplay, config: RouterConfig) -> dict[str, object]:
    """The replay as plain JSON-ready data: inputs, router config and one summary per policy."""
    return {
        "pods_file": replay.pods_file,
        "nodes_file": replay.nodes_file,
        "pods_total": replay.pods_total,
        "pods_cpu_only": replay.pods_cpu_only,
        "nodes": replay.nodes,
        "router_config": {
            "sla_s": {q.value: s for q, s in config.sla_s.items()},
            "min_runtime_s": config.min_runtime_s,
            "ls_protected_priority": config.ls_protected_priority,
            "placement": config.placement.value,
            "reservations_enabled": config.reservations_enabled,
            "reserve_after_s": {q.value: config.reserve_after(q) for q in config.sla_s},
            "max_reservations": config.max_reservations,
        },
        "router": asdict(replay.router.summary),
        "baseline": asdict(replay.baseline.summary),
    }


def decisions_frame(runs: tuple[PolicyRun, ...]) -> pl.DataFrame:
    """Every decision of `runs`, one row each, labelled with its policy."""
    rows = [
        (
            run.summary.policy,
            d.at.isoformat(),
            d.kind.value,
            d.job.job_id,
            d.job.customer_id,
            d.job.qos_class.value,
            d.job.priority,
            d.job.preemptible,
            d.job.gpu_type,
            d.gpus,
            d.node_id,
            d.queue_wait_s,
            f"{d.reason}; {d.job.class_note}" if d.job.class_note else d.reason,
        )
        for run in runs
        for d in run.decisions
    ]
    return pl.DataFrame(rows, schema=list(DECISION_COLUMNS), orient="row", infer_schema_length=None)


def write_replay(replay: RouteReplay, config: RouterConfig, out: Path) -> tuple[Path, Path]:
    """Write `out/summary.json` and `out/decisions.csv`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    summary_path, decisions_path = out / "summary.json", out / "decisions.csv"
    summary_path.write_text(json.dumps(summarise_replay(replay, config), indent=2) + "\n")
    decisions_frame((replay.router, replay.baseline)).write_csv(decisions_path)
    return summary_path, decisions_path
