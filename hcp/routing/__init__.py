"""The GPU job router (pure): a ten-level priority queue, best-fit placement, guarded preemption, SLA tracking and
reservations for jobs backfill would starve."""

from hcp.routing.classification import Classify, PredictedClass, ResolvedClass, resolve_class
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
    "Classify",
    "DecisionKind",
    "Job",
    "Node",
    "PlacementPolicy",
    "PredictedClass",
    "ResolvedClass",
    "Router",
    "RouterConfig",
    "RouterDecision",
    "RoutingError",
    "job_from_request",
    "resolve_class",
]
