"""Which power decisions and commands a real-time energy price calls for. Pure: no faust, no I/O.

The live agent and a backtest call `plan_power_states` with the same inputs and get the same records, ids
included: a decision's id names its site, model and interval, so reprocessing a tick reproduces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hcp.curtailment import decide_power_state
from hcp.economics import ASIC_MODELS, PowerState
from hcp.fleet import Fleet
from hcp.records import CommandKind, ControlCommand, Decision, DecisionKind, PriceKind, PriceTick

HASHPRICE_KEY = f"{PriceKind.HASHPRICE.value}:-"


@dataclass(frozen=True)
class PowerPlan:
    """What one tick calls for: a decision per site x model, commands for the changes, and the new states."""

    decisions: tuple[Decision, ...] = ()
    commands: tuple[ControlCommand, ...] = ()
    new_states: Mapping[str, PowerState] = field(default_factory=dict)
    skipped: str | None = None


def state_key(site_id: str, model: str) -> str:
    """Key of a (site, ASIC model) power state, as stored in the `power_states` table."""
    return f"{site_id}:{model}"


def decision_id(site_id: str, model: str, interval_start: datetime) -> str:
    return f"{site_id}:{model}:{interval_start.isoformat()}"


def site_models(fleet: Fleet, site_id: str) -> tuple[str, ...]:
    """ASIC models at a site, each once, in fleet order."""
    return tuple(dict.fromkeys(group.model for group in fleet.site(site_id).asics))


def plan_power_states(
    tick: PriceTick, fleet: Fleet, prices: Mapping[str, float], states: Mapping[str, PowerState | str]
) -> PowerPlan:
    """Decide the power state of every ASIC model at every site settled at the tick's node.

    `prices` maps a price key (`PriceTick.key`) to its latest value; `states` maps `state_key` to the state in
    force. Only real-time energy ticks decide anything; without a known hashprice the plan is empty and says why.
    The decisions are for the interval that starts when the tick's interval ends. A model whose state is not
    known yet gets a command with its first decision, so devices and platform agree from then on.
    """
    if tick.kind is not PriceKind.ENERGY_RT:
        return PowerPlan()
    hashprice = prices.get(HASHPRICE_KEY)
    if hashprice is None:
        return PowerPlan(skipped=f"no hashprice known yet: {tick.key} at {tick.interval_end.isoformat()} ignored")
    interval_start = tick.interval_end
    decisions: list[Decision] = []
    commands: list[ControlCommand] = []
    new_states: dict[str, PowerState] = {}
    for site in fleet.sites:
        if site.node != tick.node:
            continue
        for model in site_models(fleet, site.site_id):
            result = decide_power_state(ASIC_MODELS[model], energy_price=tick.value, hashprice=hashprice)
            key = state_key(site.site_id, model)
            previous = PowerState(states[key]) if key in states else None
            this_id = decision_id(site.site_id, model, interval_start)
            command_id = None
            if result.power_state is not previous:
                command_id = f"cmd:{this_id}"
                new_states[key] = result.power_state
                commands.append(
                    ControlCommand(
                        event_id=command_id,
                        event_time=tick.event_time,
                        command_id=command_id,
                        decision_id=this_id,
                        site_id=site.site_id,
                        kind=CommandKind.SET_POWER_STATE,
                        asic_model=model,
                        power_state=result.power_state,
                    )
                )
            decisions.append(
                Decision(
                    event_id=this_id,
                    event_time=tick.event_time,
                    decision_id=this_id,
                    site_id=site.site_id,
                    kind=DecisionKind.POWER_STATE,
                    subject=model,
                    interval_start=interval_start,
                    action=result.power_state.value,
                    previous_action=previous.value if previous else None,
                    reason=result.reason,
                    energy_price_usd_mwh=result.energy_price_usd_mwh,
                    hashprice_usd_ph_day=result.hashprice_usd_ph_day,
                    breakeven_usd_mwh=result.breakeven_usd_mwh,
                    command_id=command_id,
                )
            )
    return PowerPlan(tuple(decisions), tuple(commands), new_states)
