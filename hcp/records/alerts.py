"""Alerts raised by rules on telemetry, prices and the pipeline."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from hcp.records.base import Record


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(Record):
    """Topic `alerts`, key `site_id` (or `pipeline`): one alert state change (grain: alert x transition)."""

    topic: ClassVar[str] = "alerts"

    alert_id: str = Field(min_length=1, max_length=128, description="stable id of the alert across transitions")
    rule: str = Field(min_length=1, max_length=64)
    severity: Severity
    status: AlertStatus
    site_id: str | None = Field(None, max_length=40)
    device_id: str | None = Field(None, max_length=64)
    message: str = Field(min_length=1)
    value: float | None = Field(None, description="observed value that tripped the rule")
    threshold: float | None = Field(None, description="the rule's threshold")
