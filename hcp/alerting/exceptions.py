"""Errors of the alerting core."""

from hcp.exceptions import HcpError


class AlertingError(HcpError):
    """An alert rule could not be evaluated or its settings are inconsistent."""
