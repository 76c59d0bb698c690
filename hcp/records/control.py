"""What the platform decides and tells devices to do."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from hcp.economics import PowerState
from hcp.records.base import Record


class CommandKind(StrEnum):
    SET_POWER_STATE = "set_power_state"
    """Every device of `asic_model` at the site, or the listed `device_ids`, to `power_state`."""
    SET_POWER_MIX = "set_power_mix"
    """The devices of `asic_model` at the site to the states in `state_counts` (the site controller picks which)."""
    PLACE_JOB = "place_job"
    """Start `job_id` on `gpu_count` free GPUs of node `node_id`."""
    PREEMPT_JOB = "preempt_job"
    """Pause `job_id` and free its GPUs; it may be placed again later."""


class ControlCommand(Record):
    """Topic `control.commands`, key `site_id`: one command to devices at one site (grain: command).

    Which fields a command carries depends on its `kind` (see `CommandKind`).
    """

    topic: ClassVar[str] = "control.commands"

    command_id: str = Field(min_length=1, max_length=128)
    decision_id: str = Field(min_length=1, max_length=128, description="the decision this command carries out")
    site_id: str = Field(min_length=1, max_length=40, description="site whose devices obey the command")
    kind: CommandKind
    asic_model: str | None = Field(None, description="ASIC model the command is about")
    device_ids: tuple[str, ...] = Field((), max_length=100_000, description="exactly these devices")
    power_state: PowerState | None = Field(None, description="target state, for set_power_state")
    state_counts: dict[PowerState, int] | None = Field(
        None, description="devices of asic_model per power state, for set_power_mix"
    )
    job_id: str | None = Field(None, max_length=128, description="the job, for place_job and preempt_job")
    customer_id: str | None = Field(None, max_length=40, description="the job's owner, for place_job")
    priority: int | None = Field(None, ge=0, le=9, description="the job's priority, for place_job")
    node_id: str | None = Field(None, max_length=64, description="GPU node to run the job on, for place_job")
    gpu_count: int | None = Field(None, ge=1, le=64, description="GPUs of that node the job takes, for place_job")
    run_seconds: float | None = Field(
        None, gt=0, le=30 * 86400, description="how long the job still has to run, for place_job, seconds"
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> ControlCommand:
        kind = self.kind
        if kind is CommandKind.SET_POWER_STATE:
            if self.power_state is None or not (self.asic_model or self.device_ids):
                raise ValueError("set_power_state needs power_state and asic_model or device_ids")
        elif kind is CommandKind.SET_POWER_MIX:
            if not self.asic_model or not self.state_counts:
                raise ValueError("set_power_mix needs asic_model and state_counts")
            if any(count < 0 for count in self.state_counts.values()):
                raise ValueError("state_counts must not be negative")
        elif kind is CommandKind.PLACE_JOB:
            if not (self.job_id and self.node_id and self.gpu_count and self.run_seconds):
                raise ValueError("place_job needs job_id, node_id, gpu_count and run_seconds")
        elif not self.job_id:
            raise ValueError("preempt_job needs job_id")
        return self


class DecisionKind(StrEnum):
    POWER_STATE = "power_state"
    """A model's power state at a site for one interval (`action` is the state)."""
    POWER_MIX = "power_mix"
    """A model's fleet split over power states at a site for one interval, under the site's cap."""
    PLACEMENT = "placement"
    PREEMPTION = "preemption"
    REJECTION = "rejection"
    QUEUED = "queued"
    SLA_BREACH = "sla_breach"


class Decision(Record):
    """Topic `decisions`, key `site_id`: one decision with its reason and numbers (grain: site x subject x
    interval for power decisions, job x event for routing decisions). `command_id` is set when the decision
    changed something and a command was sent."""

    topic: ClassVar[str] = "decisions"

    decision_id: str = Field(min_length=1, max_length=128)
    site_id: str = Field(min_length=1, max_length=40, description="site the decision is about")
    kind: DecisionKind
    subject: str = Field(description="what was decided about: an ASIC model, or a job id")
    interval_start: AwareDatetime = Field(description="start of the real-time interval decided for (or event time)")
    action: str = Field(description="the chosen outcome, e.g. a power state or 'placed'")
    previous_action: str | None = Field(None, description="the outcome in force before")
    reason: str = Field(min_length=1)
    energy_price_usd_mwh: float | None = Field(None, description="energy price the decision used, USD/MWh")
    hashprice_usd_ph_day: float | None = Field(None, description="hashprice used, USD per PH/s per day")
    breakeven_usd_mwh: float | None = Field(None, description="breakeven price compared, USD/MWh")
    run_fraction: float | None = Field(None, ge=0, le=1, description="share of the model's fleet hashing")
    power_mw: float | None = Field(None, ge=0, description="power the decision allots, MW")
    site_power_cap_mw: float | None = Field(None, gt=0, description="the site's power cap, MW")
    queue_wait_s: float | None = Field(None, ge=0, description="how long the job waited, for routing decisions")
    command_id: str | None = Field(None, description="command sent, if the decision changed a state")
