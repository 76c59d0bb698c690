"""The Decision and ControlCommand records of the site controller, with ids derived from what they are about.

A power decision's id names its site, model and interval (or the placement that moved it), a routing
decision's its site, job, kind and event time: reprocessing the same input gives the same ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from hcp.allocation import STATE_ORDER
from hcp.economics import ASIC_MODELS, PowerState
from hcp.records import CommandKind, ControlCommand, Decision, DecisionKind
from hcp.routing import DecisionKind as RouteKind
from hcp.routing import RouterDecision

ROUTE_DECISIONS: dict[RouteKind, DecisionKind] = {
    RouteKind.PLACED: DecisionKind.PLACEMENT,
    RouteKind.QUEUED: DecisionKind.QUEUED,
    RouteKind.PREEMPTED: DecisionKind.PREEMPTION,
    RouteKind.REJECTED: DecisionKind.REJECTION,
    RouteKind.SLA_BREACH: DecisionKind.SLA_BREACH,
}

Mix = Mapping[PowerState, int]


def describe_mix(counts: Mix) -> str:
    """`normal 150, low 30, sleep 20`: devices per state, highest state first, empty states left out."""
    return ", ".join(f"{state.value} {counts[state]}" for state in reversed(STATE_ORDER) if counts.get(state))


def mix_mw(model: str, counts: Mix) -> float:
    """MW the devices of one model draw in these states."""
    spec = ASIC_MODELS[model]
    return sum(spec.power_at(state) * n for state, n in counts.items()) / 1e6


def hashing_share(counts: Mix) -> float:
    total = sum(counts.values())
    return 0.0 if total == 0 else 1.0 - counts.get(PowerState.SLEEP, 0) / total


@dataclass(frozen=True)
class MixNumbers:
    """The numbers a power_mix decision reports."""

    energy_price: float | None
    hashprice: float | None
    breakeven: float | None
    cap_mw: float


def power_mix_records(
    site_id: str,
    model: str,
    decision_id: str,
    at: datetime,
    interval_start: datetime,
    counts: Mix,
    previous: Mix | None,
    reason: str,
    numbers: MixNumbers,
) -> tuple[Decision, ControlCommand | None]:
    """The power_mix decision and, when the counts change (or none were known), its set_power_mix command."""
    command = None
    if previous is None or dict(previous) != dict(counts):
        command = ControlCommand(
            event_id=f"cmd:{decision_id}",
            event_time=at,
            command_id=f"cmd:{decision_id}",
            decision_id=decision_id,
            site_id=site_id,
            kind=CommandKind.SET_POWER_MIX,
            asic_model=model,
            state_counts={state: int(counts.get(state, 0)) for state in STATE_ORDER},
        )
    decision = Decision(
        event_id=decision_id,
        event_time=at,
        decision_id=decision_id,
        site_id=site_id,
        kind=DecisionKind.POWER_MIX,
        subject=model,
        interval_start=interval_start,
        action=describe_mix(counts),
        previous_action=describe_mix(previous) if previous is not None else None,
        reason=reason,
        energy_price_usd_mwh=numbers.energy_price,
        hashprice_usd_ph_day=numbers.hashprice,
        breakeven_usd_mwh=numbers.breakeven,
        run_fraction=round(hashing_share(counts), 6),
        power_mw=round(mix_mw(model, counts), 6),
        site_power_cap_mw=numbers.cap_mw,
        command_id=command.command_id if command else None,
    )
    return decision, command


def route_records(
    site_id: str, decision: RouterDecision, run_seconds: float | None, reason: str | None = None
) -> tuple[Decision, ControlCommand | None]:
    """A router decision as a Decision, with its place_job or preempt_job command; `reason` overrides the kind to a
    rejection (a placement the site cannot power)."""
    job = decision.job
    kind = DecisionKind.REJECTION if reason else ROUTE_DECISIONS[decision.kind]
    decision_id = f"{site_id}:{job.job_id}:{kind.value}:{decision.at.isoformat()}"
    command = None
    envelope = {
        "event_id": f"cmd:{decision_id}",
        "event_time": decision.at,
        "command_id": f"cmd:{decision_id}",
        "decision_id": decision_id,
        "site_id": site_id,
        "job_id": job.job_id,
    }
    if kind is DecisionKind.PLACEMENT and run_seconds is not None:
        command = ControlCommand(
            **envelope,
            kind=CommandKind.PLACE_JOB,
            customer_id=job.customer_id,
            priority=job.priority,
            node_id=decision.node_id,
            gpu_count=max(1, int(job.gpus)),
            run_seconds=run_seconds,
        )
    elif kind is DecisionKind.PREEMPTION:
        command = ControlCommand(**envelope, kind=CommandKind.PREEMPT_JOB)
    record = Decision(
        event_id=decision_id,
        event_time=decision.at,
        decision_id=decision_id,
        site_id=site_id,
        kind=kind,
        subject=job.job_id,
        interval_start=decision.at,
        action="rejected" if reason else decision.kind.value,
        reason=_with_class_note(reason or decision.reason, job.class_note),
        queue_wait_s=decision.queue_wait_s,
        command_id=command.command_id if command else None,
    )
    return record, command


def _with_class_note(reason: str, note: str | None) -> str:
    """A job whose class was not declared says how it was classified (predicted class and probability)."""
    return f"{reason}; {note}" if note else reason
