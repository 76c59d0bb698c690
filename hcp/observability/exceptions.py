"""Errors of the metrics and health endpoint."""

from hcp.exceptions import HcpError


class ObservabilityError(HcpError):
    """The metrics and health endpoint could not start or is misconfigured."""
