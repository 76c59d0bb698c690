"""`hcp route-replay`: replay the Alibaba GPU trace through the router and a FIFO first-fit baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.cli.options import HomeOption
from hcp.routing import RouterConfig
from hcp.routing.replay import PolicySummary, RouteReplay, run_route_replay
from hcp.routing.report import write_replay
from hcp.routing.trace import ClassifyPods

console = Console()
Cell = Callable[[PolicySummary], str]
_CLASSES = ("LS", "Guaranteed", "Burstable", "BE")


def route_replay(
    pods: Annotated[Path, typer.Option("--pods", help="Pods CSV of cluster-trace-gpu-v2023 (alibaba_gpu_v2023_pods).")],
    nodes: Annotated[Path, typer.Option("--nodes", help="Nodes CSV of the same trace (sn, gpu, model).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for summary.json and decisions.csv; unset writes nothing.")
    ] = None,
    every_nth_node: Annotated[
        int, typer.Option("--every-nth-node", min=1, help="Keep every N-th node, to replay on a smaller cluster.")
    ] = 1,
    min_runtime_s: Annotated[
        float, typer.Option("--min-runtime-s", min=0, help="Run time before a job may be preempted, seconds.")
    ] = RouterConfig().min_runtime_s,
    reservations: Annotated[
        bool,
        typer.Option(
            "--reservations/--no-reservations",
            help="Hold GPUs for the highest-priority job past its SLA so backfill cannot starve it (off by default: "
            "on the Alibaba trace it shortens wide Burstable waits but delays narrow LS pods; docs/routing.md).",
        ),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Replay pod arrivals, sizes and QoS classes on the trace's nodes: the router (with reservations if
    --reservations) against FIFO first fit.

    Pods with an empty `qos` are classified by the newest promoted workload classifier under the home's registry
    (`hcp models train`); their decisions say the class was predicted.
    """
    config = RouterConfig(min_runtime_s=min_runtime_s, reservations_enabled=reservations)
    classify = _pod_classifier(home)
    with console.status("replaying the trace..."):
        replay = run_route_replay(pods, nodes, config, every_nth_node, classify)
    console.print(build_table(replay), width=max(console.width, 100))
    if out is not None:
        summary_path, decisions_path = write_replay(replay, config, out)
        console.print(f"wrote {summary_path} and {decisions_path}")


def _pod_classifier(home: Path | None) -> ClassifyPods | None:
    """The registered classifier as a `ClassifyPods` callable, or None when none is registered."""
    from hcp.cli.context import storage_settings
    from models.live import pod_classifier
    from models.loading import load_classifier

    loaded = load_classifier(storage_settings(home).home)
    return pod_classifier(loaded[0]) if loaded else None


def build_table(replay: RouteReplay) -> Table:
    """Router and baseline side by side, one row per figure."""
    title = (
        f"route replay: {replay.pods_total - replay.pods_cpu_only} GPU pods "
        f"({replay.pods_cpu_only} CPU-only not routed) on {replay.nodes} nodes"
    )
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("router", justify="right")
    table.add_column("FIFO first fit", justify="right")
    for label, cell in _ROWS:
        table.add_row(label, cell(replay.router.summary), cell(replay.baseline.summary))
    return table


def _wait(qos: str, field: str) -> tuple[str, Cell]:
    def cell(s: PolicySummary) -> str:
        stats = s.waits.get(qos)
        return "n/a" if stats is None else f"{getattr(stats, field):,.0f}"

    return f"{qos} wait {field.removesuffix('_s')} (s)", cell


_ROWS: list[tuple[str, Cell]] = [
    ("GPU pods routed", lambda s: f"{s.jobs:,}"),
    ("finished / rejected / unfinished", lambda s: f"{s.finished:,} / {s.rejected:,} / {s.unfinished:,}"),
    ("LS placed without waiting", lambda s: f"{s.ls_share_without_wait:.2%} of {s.ls_jobs:,}"),
    ("GPU allocation (time-averaged)", lambda s: f"{s.allocation_ratio:.2%}"),
    ("peak GPU allocation", lambda s: f"{s.peak_allocation_ratio:.2%} of {s.capacity_gpus:,.0f} GPUs"),
    ("preemptions (jobs preempted)", lambda s: f"{s.preemptions:,} ({s.jobs_preempted:,})"),
    ("reservations (honoured)", lambda s: f"{s.reservations:,} ({s.reservations_honoured:,})"),
    ("SLA breaches LS/G/Burst/BE", lambda s: "/".join(str(s.sla_breaches[q]) for q in _CLASSES)),
    *[_wait(q, f) for q in ("LS", "BE") for f in ("p50_s", "p95_s", "p99_s", "max_s")],
    ("replay time (s)", lambda s: f"{s.wall_s:.2f}"),
]


def register(app: typer.Typer) -> None:
    app.command("route-replay")(route_replay)
