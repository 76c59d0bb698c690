"""The single exception family of the reports package."""

from __future__ import annotations

from hcp.exceptions import HcpError


class ReportError(HcpError):
    """A report or a screenshot could not be built; the message says what is missing."""
