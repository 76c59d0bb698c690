"""The exception family of the router."""

from __future__ import annotations

from hcp.exceptions import HcpError


class RoutingError(HcpError):
    """A job, node or call breaks the router's contract (bad demand, unknown job, time running backwards)."""
