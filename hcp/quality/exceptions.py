"""The single exception family of the data-quality gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hcp.exceptions import HcpError

if TYPE_CHECKING:
    from hcp.quality.report import GateReport


class QualityError(HcpError):
    """The quality gate could not run (unreadable landing folder, broken validation store)."""


class QualityGateError(QualityError):
    """Landed batches failed the gate: nothing downstream (billing, training) may use them yet.

    `report` holds every failed check; the message names each one.
    """

    def __init__(self, report: GateReport) -> None:
        super().__init__(report.describe())
        self.report = report
