"""The reservation part of a router snapshot (see `hcp.routing.snapshot`): held GPUs, and run time before the
latest start of preempted jobs. Threshold deadlines and overdue jobs are recomputed from the queue stints."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hcp.routing.exceptions import RoutingError
from hcp.routing.reservation import Reservation

if TYPE_CHECKING:
    from hcp.routing.router import Router


def reservations_snapshot(router: Router) -> dict[str, Any]:
    """The router's reservations (oldest first) and the run time preempted jobs have behind them, JSON-ready."""
    book, nodes = router._reservations, router._capacity.nodes
    held = [
        {
            "job_id": r.job_id,
            "level": r.level,
            "node_id": nodes[r.node].node_id,
            "gpus": list(r.gpus),
            "made_at": r.made_at.isoformat(),
            "expected_start": r.expected_start.isoformat() if r.expected_start else None,
            "signature": [list(part) for part in r.signature],
        }
        for r in book.by_job.values()
    ]
    return {"held": held, "ran_s": dict(book.ran_s)}


def restore_reservations(router: Router, saved: dict[str, Any] | None, index_of: dict[str, int]) -> None:
    """Rebuild the reservation book of a router whose running and queued jobs are already restored."""
    saved = saved or {"held": [], "ran_s": {}}
    book = router._reservations
    book.ran_s = {job_id: float(seconds) for job_id, seconds in saved["ran_s"].items()}
    for entry in saved["held"]:
        job_id, node = entry["job_id"], index_of.get(entry["node_id"])
        if job_id not in router._waiting or node is None:
            raise RoutingError(
                f"router snapshot reserves for {job_id!r} on {entry['node_id']!r}: the job is not queued or the node"
                " left the fleet; start the router empty"
            )
        start = entry["expected_start"]
        reservation = Reservation(
            job_id=job_id,
            level=int(entry["level"]),
            node=node,
            gpus=tuple(int(g) for g in entry["gpus"]),
            made_at=datetime.fromisoformat(entry["made_at"]),
            expected_start=datetime.fromisoformat(start) if start else None,
            signature=tuple(tuple(part) for part in entry["signature"]),
        )
        gpu_count = len(router._capacity.free[node])
        if any(not 0 <= g < gpu_count or (node, g) in router._capacity.held for g in reservation.gpus):
            raise RoutingError(f"router snapshot holds GPUs {entry['gpus']} of {entry['node_id']} twice or not at all")
        book.by_job[job_id] = reservation
        for gpu in reservation.gpus:
            router._capacity.hold(node, gpu)
    if router.config.reservations_enabled:
        _restore_thresholds(router)


def _restore_thresholds(router: Router) -> None:
    """Queued jobs' reservation thresholds still to come go back on the due heap; passed ones are overdue."""
    book, now = router._reservations, router._now
    for job_id, waiting in router._waiting.items():
        due = waiting.since + timedelta(seconds=router.config.reserve_after(waiting.job.qos_class))
        if now is None or due > now:
            heapq.heappush(book.due, (due, waiting.stint, job_id))
        elif job_id not in book.by_job:
            book.overdue[job_id] = (-router._level(waiting.job), router._seqs[job_id], waiting.stint)
