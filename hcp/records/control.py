"""What the platform decides and tells devices to do."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from hcp.economics import PowerState
from hcp.records.base import Record


class CommandKind(StrEnum):
    SET_POWER_STATE = "set_power_state"


class ControlCommand(Record):
    """Topic `control.commands`, key `site_id`: one command to devices at one site (grain: command).

    Targets every device of `asic_model` at the site, or the listed `device_ids`.
    """

    topic: ClassVar[str] = "control.commands"

    command_id: str = Field(min_length=1, max_length=128)
    decision_id: str = Field(min_length=1, max_length=128, description="the decision this command carries out")
    site_id: str = Field(min_length=1, max_length=40, description="site the devices are at")
    kind: CommandKind
    asic_model: str | None = Field(None, description="every ASIC of this model at the site")
    device_ids: tuple[str, ...] = Field((), max_length=100_000, description="or exactly these devices")
    power_state: PowerState

    @model_validator(mode="after")
    def _has_target(self) -> ControlCommand:
        if not self.asic_model and not self.device_ids:
            raise ValueError("a command needs asic_model or device_ids")
        return self


class DecisionKind(StrEnum):
    POWER_STATE = "power_state"


class Decision(Record):
    """Topic `decisions`, key `site_id`: one decision with its reason and numbers (grain: site x subject x
    interval). `command_id` is set when the decision changed something and a command was sent."""

    topic: ClassVar[str] = "decisions"

    decision_id: str = Field(min_length=1, max_length=128)
    site_id: str = Field(min_length=1, max_length=40, description="site the devices are at")
    kind: DecisionKind
    subject: str = Field(description="what was decided about, e.g. an ASIC model")
    interval_start: AwareDatetime = Field(description="start of the real-time interval decided for")
    action: str = Field(description="the chosen outcome, e.g. a power state")
    previous_action: str | None = Field(None, description="the outcome in force before")
    reason: str = Field(min_length=1)
    energy_price_usd_mwh: float | None = Field(None, description="energy price the decision used, USD/MWh")
    hashprice_usd_ph_day: float | None = Field(None, description="hashprice used, USD per PH/s per day")
    breakeven_usd_mwh: float | None = Field(None, description="breakeven price compared, USD/MWh")
    command_id: str | None = Field(None, description="command sent, if the decision changed a state")
