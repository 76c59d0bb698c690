from datetime import UTC, datetime, timedelta

import pytest

from hcp.economics import ASIC_MODELS, PowerState, breakeven_usd_per_mwh
from hcp.fleet import Fleet
from hcp.records import PriceKind, PriceTick
from streams.power.policy import HASHPRICE_KEY, plan_power_states, state_key

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
HASHPRICE = 50.0

FLEET = Fleet.model_validate(
    {
        "sites": [
            {"site_id": "west-1", "node": "HB_WEST", "power_cap_mw": 2,
             "asics": [{"model": "S19j Pro", "count": 2}, {"model": "S21", "count": 2}]},
            {"site_id": "west-2", "node": "HB_WEST", "power_cap_mw": 2, "asics": [{"model": "S21", "count": 1}]},
            {"site_id": "north-1", "node": "HB_NORTH", "power_cap_mw": 2, "asics": [{"model": "S21", "count": 1}]},
        ],
        "customers": [{"customer_id": "acme"}],
    }
)


def breakeven(model: str) -> float:
    return breakeven_usd_per_mwh(HASHPRICE, ASIC_MODELS[model].joules_per_th())


def rt_tick(value: float, node: str = "HB_WEST") -> PriceTick:
    return PriceTick(
        event_id=f"rt:{node}:{value}", event_time=T0, kind=PriceKind.ENERGY_RT, node=node,
        interval_start=T0 - timedelta(minutes=15), interval_end=T0, value=value, unit="USD/MWh",
    )


def test_price_between_the_breakevens_sleeps_only_the_less_efficient_model():
    price = (breakeven("S19j Pro") + breakeven("S21")) / 2
    plan = plan_power_states(rt_tick(price), FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    actions = {(d.site_id, d.subject): d.action for d in plan.decisions}
    assert actions == {
        ("west-1", "S19j Pro"): PowerState.SLEEP.value,
        ("west-1", "S21"): PowerState.NORMAL.value,
        ("west-2", "S21"): PowerState.NORMAL.value,
    }


def test_decision_is_for_the_next_interval_with_its_numbers_and_reason():
    plan = plan_power_states(rt_tick(1000.0), FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    decision = next(d for d in plan.decisions if d.subject == "S21" and d.site_id == "west-1")
    assert decision.interval_start == T0
    assert decision.energy_price_usd_mwh == 1000.0 and decision.hashprice_usd_ph_day == HASHPRICE
    assert decision.breakeven_usd_mwh == pytest.approx(breakeven("S21"))
    assert "curtail" in decision.reason


def test_state_change_sends_a_command_named_in_the_decision():
    states = {state_key("west-1", "S21"): PowerState.NORMAL, state_key("west-1", "S19j Pro"): "normal",
              state_key("west-2", "S21"): PowerState.NORMAL}
    plan = plan_power_states(rt_tick(breakeven("S21") + 1), FLEET, {HASHPRICE_KEY: HASHPRICE}, states)
    assert {(c.site_id, c.asic_model, c.power_state) for c in plan.commands} == {
        ("west-1", "S19j Pro", PowerState.SLEEP),
        ("west-1", "S21", PowerState.SLEEP),
        ("west-2", "S21", PowerState.SLEEP),
    }
    by_id = {c.command_id: c for c in plan.commands}
    for decision in plan.decisions:
        assert by_id[decision.command_id].decision_id == decision.decision_id
        assert decision.previous_action == "normal"
    assert dict(plan.new_states) == {key: PowerState.SLEEP for key in states}


def test_unchanged_state_gives_a_decision_without_a_command():
    states = {state_key("north-1", "S21"): PowerState.NORMAL}
    plan = plan_power_states(rt_tick(breakeven("S21") - 1, "HB_NORTH"), FLEET, {HASHPRICE_KEY: HASHPRICE}, states)
    [decision] = plan.decisions
    assert decision.action == "normal" and decision.previous_action == "normal" and decision.command_id is None
    assert plan.commands == () and dict(plan.new_states) == {}


def test_unknown_state_gets_a_command_with_the_first_decision():
    plan = plan_power_states(rt_tick(10.0, "HB_NORTH"), FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    [decision], [command] = plan.decisions, plan.commands
    assert decision.previous_action is None and command.power_state is PowerState.NORMAL


def test_reprocessed_tick_gives_the_same_ids():
    first = plan_power_states(rt_tick(500.0), FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    again = plan_power_states(rt_tick(500.0), FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    assert [d.decision_id for d in first.decisions] == [d.decision_id for d in again.decisions]
    assert [c.command_id for c in first.commands] == [c.command_id for c in again.commands]
    assert len({d.decision_id for d in first.decisions}) == len(first.decisions)


def test_no_hashprice_means_no_decision_and_says_why():
    plan = plan_power_states(rt_tick(500.0), FLEET, {}, {})
    assert plan.decisions == () and plan.commands == () and "hashprice" in plan.skipped


@pytest.mark.parametrize("kind", [PriceKind.ENERGY_DA, PriceKind.HASHPRICE])
def test_only_real_time_energy_prices_decide(kind):
    tick = PriceTick(
        event_id="x", event_time=T0, kind=kind, node="HB_WEST" if kind is PriceKind.ENERGY_DA else None,
        interval_start=T0, interval_end=T0 + timedelta(hours=1), value=500.0,
        unit="USD/MWh" if kind is PriceKind.ENERGY_DA else "USD/PH/day",
    )
    plan = plan_power_states(tick, FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    assert plan.decisions == () and plan.skipped is None


def test_node_without_sites_decides_nothing():
    plan = plan_power_states(rt_tick(500.0, "HB_SOUTH"), FLEET, {HASHPRICE_KEY: HASHPRICE}, {})
    assert plan.decisions == ()
