"""Device inventory changes: discovery, going offline, coming back."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from hcp.records.base import Record


class DeviceKind(StrEnum):
    ASIC = "asic"
    GPU = "gpu"


class DeviceStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DeviceChange(Record):
    """Topic `fleet.devices`, key `site_id`: a device registered or changed status (grain: device x change)."""

    topic: ClassVar[str] = "fleet.devices"

    device_id: str = Field(min_length=1, max_length=64)
    site_id: str = Field(min_length=1, max_length=40)
    device_kind: DeviceKind
    model: str = Field(description="ASIC model or GPU type")
    status: DeviceStatus
    first_seen: bool = Field(description="true for the change that registered the device (discovery)")
    last_seen: AwareDatetime = Field(description="event time of the device's last reading")
    reason: str = Field(min_length=1)
