"""A router's state as a JSON-serialisable dict, and a router rebuilt from one (pure; for restarts).

`router_snapshot(router)` reads what a `Router` holds between calls: its clock, the running jobs with the exact
GPUs (and milli-GPUs) each one holds and when it started, the queued jobs with their queue stint (since when,
whether the SLA breach was reported), every job's arrival sequence number and the stint counter.
`restore_router(snapshot, nodes, config)` builds a router that makes the same decisions from then on as the one
snapshotted: capacity taken slot by slot, queue levels and FIFO order by sequence number, SLA deadlines and
preemption eligibility recomputed from the times kept.

What is not kept: the ids of jobs that ended. The router rejects a re-used job id ("job id already submitted");
after a restore, an id whose job ended before the snapshot is accepted again. Callers that must not run a
message twice dedupe messages themselves (the site control agent keeps source offsets).

The snapshot reads the router's private attributes (router.py has no export API). `ROUTER_STATE` lists the
attributes it covers; a unit test fails when the router grows state this module does not know about.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any

from hcp.records.workloads import QosClass
from hcp.routing.capacity import Slots
from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import Job, Node, RouterConfig
from hcp.routing.preemption import RunningJob
from hcp.routing.reservation_snapshot import reservations_snapshot, restore_reservations
from hcp.routing.router import Router, _Waiting

SNAPSHOT_VERSION = 1
ROUTER_STATE = frozenset({
    "config", "_capacity", "_queue", "_waiting", "_running", "_on_node", "_preemptible_on", "_seqs", "_stints",
    "_sla_heap", "_eligible_heap", "_now", "_reservations",
})
"""The Router attributes this module saves or rebuilds (config and nodes are given back to `restore_router`)."""
JOB_CACHE_SIZE = 65_536
"""Jobs whose JSON-ready form is remembered between snapshots (least recently used dropped first)."""
RETIRED_PREFIX = "\x00retired:"
"""Placeholder ids that keep a restored router's sequence numbering where the snapshotted one was."""


def job_to_dict(job: Job) -> dict[str, Any]:
    """A job as JSON-ready values (times as ISO 8601, enums as their values)."""
    out: dict[str, Any] = {}
    for spec in fields(job):
        value = getattr(job, spec.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Enum):
            value = value.value
        out[spec.name] = value
    return out


@lru_cache(maxsize=JOB_CACHE_SIZE)
def _cached_job_dict(job: Job) -> dict[str, Any]:
    """`job_to_dict`, remembered: a busy router is snapshotted after every change, its jobs rarely change.
    Callers must not modify the dict returned."""
    return job_to_dict(job)


def job_from_dict(data: dict[str, Any]) -> Job:
    """The job `job_to_dict` wrote."""
    values = dict(data)
    values["submitted_at"] = datetime.fromisoformat(values["submitted_at"])
    values["qos_class"] = QosClass(values["qos_class"])
    return Job(**values)


def router_snapshot(router: Router) -> dict[str, Any]:
    """Everything `restore_router` needs to rebuild `router` as it is now: its `router_meta`, and the entries of
    its running jobs (in start order) and of its queued jobs."""
    return {
        **router_meta(router),
        "running": [_running_entry(router, job_id) for job_id in router._running],
        "waiting": [_waiting_entry(router, job_id) for job_id in router._waiting],
    }


def router_meta(router: Router) -> dict[str, Any]:
    """The router's clock, counters and reservations, without its jobs."""
    return {
        "version": SNAPSHOT_VERSION,
        "now": router._now.isoformat() if router._now is not None else None,
        "next_seq": len(router._seqs),
        "stints": router._stints,
        "reservations": reservations_snapshot(router),
    }


def _running_entry(router: Router, job_id: str) -> dict[str, Any]:
    entry = router._running[job_id]
    return {
        "job": _cached_job_dict(entry.job),
        "seq": router._seqs[job_id],
        "node_id": router._capacity.nodes[entry.slots.node].node_id,
        "gpus": list(entry.slots.gpus),
        "milli": entry.slots.milli,
        "started_at": entry.started_at.isoformat(),
        "expected_end": entry.expected_end.isoformat() if entry.expected_end else None,
    }


def _waiting_entry(router: Router, job_id: str) -> dict[str, Any]:
    entry = router._waiting[job_id]
    return {
        "job": _cached_job_dict(entry.job),
        "seq": router._seqs[job_id],
        "since": entry.since.isoformat(),
        "stint": entry.stint,
        "breached": entry.breached,
    }


def restore_router(snapshot: dict[str, Any], nodes: Sequence[Node], config: RouterConfig | None = None) -> Router:
    """A router over `nodes` holding what `snapshot` recorded; RoutingError if the snapshot does not fit them."""
    if snapshot.get("version") != SNAPSHOT_VERSION:
        raise RoutingError(
            f"router snapshot version {snapshot.get('version')!r} is not {SNAPSHOT_VERSION}: start the router empty"
        )
    router = Router(nodes, config)
    index_of = {node.node_id: index for index, node in enumerate(router._capacity.nodes)}
    router._now = datetime.fromisoformat(snapshot["now"]) if snapshot["now"] else None
    router._stints = int(snapshot["stints"])
    seqs: dict[str, int] = {}
    for entry in snapshot["running"]:
        job = job_from_dict(entry["job"])
        seqs[job.job_id] = int(entry["seq"])
        slots = _slots_for(router, index_of, job, entry)
        ends = entry.get("expected_end")
        started = datetime.fromisoformat(entry["started_at"])
        _book_running(router, RunningJob(job, slots, started, datetime.fromisoformat(ends) if ends else None), seqs)
    for entry in snapshot["waiting"]:
        job = job_from_dict(entry["job"])
        if job.job_id in seqs:
            raise RoutingError(f"router snapshot holds job {job.job_id!r} both running and queued")
        seqs[job.job_id] = int(entry["seq"])
        waiting = _Waiting(job, datetime.fromisoformat(entry["since"]), int(entry["stint"]), bool(entry["breached"]))
        _book_waiting(router, waiting, seqs[job.job_id])
    router._seqs = _with_retired(seqs, int(snapshot["next_seq"]))
    restore_reservations(router, snapshot.get("reservations"), index_of)
    return router


def _slots_for(router: Router, index_of: dict[str, int], job: Job, entry: dict[str, Any]) -> Slots:
    node = index_of.get(entry["node_id"])
    if node is None:
        raise RoutingError(f"router snapshot runs job {job.job_id!r} on node {entry['node_id']!r}, not in the fleet")
    free = router._capacity.free[node]
    gpus, milli = tuple(int(g) for g in entry["gpus"]), int(entry["milli"])
    if not gpus or any(not 0 <= g < len(free) or free[g] < milli for g in gpus):
        raise RoutingError(
            f"router snapshot books GPUs {list(gpus)} of {entry['node_id']} for job {job.job_id!r}, which the node"
            " does not have free: the fleet changed or the snapshot is corrupt"
        )
    return Slots(node, gpus, milli)


def _book_running(router: Router, running: RunningJob, seqs: dict[str, int]) -> None:
    """What `Router._start` books, without a decision."""
    job, node = running.job, running.slots.node
    router._capacity.take(running.slots)
    router._running[job.job_id] = running
    router._on_node[node][job.job_id] = running
    if router._preemptible(job):
        counts = router._preemptible_on[router._capacity.nodes[node].gpu_type]
        counts[node] = counts.get(node, 0) + 1
        eligible_at = running.started_at + timedelta(seconds=router.config.min_runtime_s)
        heapq.heappush(router._eligible_heap, (eligible_at, seqs[job.job_id], job.job_id, running.started_at))


def _book_waiting(router: Router, waiting: _Waiting, seq: int) -> None:
    """What `Router._enqueue` books, keeping the stint and breach state of the snapshot."""
    job = waiting.job
    level = job.priority if router.config.use_priorities else 0
    router._queue.push(job.job_id, level, (job.gpu_type, job.demand_milli), seq)
    router._waiting[job.job_id] = waiting
    if not waiting.breached:
        deadline = waiting.since + timedelta(seconds=router.config.sla_s[job.qos_class])
        heapq.heappush(router._sla_heap, (deadline, waiting.stint, job.job_id))


def _with_retired(seqs: dict[str, int], next_seq: int) -> dict[str, int]:
    """`seqs` padded with placeholder ids up to `next_seq` entries, so that the next job gets `next_seq`."""
    used = set(seqs.values())
    if len(used) != len(seqs) or (used and max(used) >= next_seq):
        raise RoutingError(f"router snapshot holds repeated sequence numbers or ones at or above {next_seq}")
    padded = dict(seqs)
    for seq in range(next_seq):
        if seq not in used:
            padded[f"{RETIRED_PREFIX}{seq}"] = seq
    return padded
