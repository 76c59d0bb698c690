"""The GPU job router (pure): a ten-level priority queue, best-fit placement, guarded preemption, SLA tracking."""

from hcp.routing.exceptions import RoutingError
from hcp.routing.jobs import (
    DecisionKind,
    Job,
    Node,
    PlacementPolicy,
    RouterConfig,
    RouterDecision,
    job_from_request,
)
from hcp.routing.router import Router

__all__ = [
    "DecisionKind",
    "Job",
    "Node",
    "PlacementPolicy",
    "Router",
    "RouterConfig",
    "RouterDecision",
    "RoutingError",
    "job_from_request",
]
