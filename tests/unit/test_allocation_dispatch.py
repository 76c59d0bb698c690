"""Dispatch over successive intervals: hysteresis, minimum dwell, high strike, staggered ramps, and the cap."""

import pytest

from hcp.allocation import (
    AsicGroup,
    DispatchConfig,
    GpuClass,
    GpuDemand,
    GroupAction,
    Market,
    SiteCap,
    build_problem,
    dispatch_step,
    start_dispatch,
    with_demands,
)
from hcp.economics import ASIC_MODELS, GPU_MODELS, PowerState, breakeven_usd_per_mwh
from hcp.exceptions import ConfigError

S21 = ASIC_MODELS["S21"]
HASHPRICE = 50.0
CHEAP, DEAR = 20.0, 300.0
BEST_BREAKEVEN = breakeven_usd_per_mwh(HASHPRICE, S21.power_w * 0.59 / (S21.hashrate_th * 0.7))


def site_problem(state=PowerState.NORMAL, cap=100.0, count=1000):
    return build_problem(SiteCap("s", cap), [AsicGroup("g", S21, count, state)], [])


def run(problem, prices, config, last_prices=None):
    """Dispatch one interval per price; returns the steps."""
    state, steps = start_dispatch(problem, config), []
    for i, price in enumerate(prices):
        last = last_prices[i] if last_prices else price
        step = dispatch_step(state, problem, Market(price, HASHPRICE), last, config)
        state = step.state
        steps.append(step)
    return steps


def levels(step):
    return int(step.allocation.model_levels().sum())


def test_a_group_is_reduced_only_after_n_intervals_with_a_lower_target():
    config = DispatchConfig(curtail_after=3, high_strike_multiple=100.0)
    steps = run(site_problem(), [CHEAP, DEAR, DEAR, DEAR], config)
    assert [levels(s) for s in steps[:3]] == [levels(steps[0])] * 3
    assert steps[1].actions[0] == GroupAction.HELD_HYSTERESIS
    assert levels(steps[3]) == 0 and steps[3].actions[0] == GroupAction.REDUCED


def test_a_short_dip_below_target_resets_the_count():
    config = DispatchConfig(curtail_after=2, high_strike_multiple=100.0)
    steps = run(site_problem(), [DEAR, CHEAP, DEAR, CHEAP], config)
    assert len({levels(s) for s in steps}) == 1


def test_a_group_resumes_only_after_m_intervals_and_the_minimum_dwell():
    config = DispatchConfig(resume_after=2, min_dwell=4, high_strike_multiple=100.0, ramp_mw_per_step=100.0)
    steps = run(site_problem(), [DEAR] + [CHEAP] * 6, config)
    ups = [levels(s) for s in steps]
    assert ups[:5] == [0] * 5, "reduced at interval 0, then four intervals of dwell"
    assert steps[1].actions[0] == GroupAction.HELD_HYSTERESIS
    assert steps[2].actions[0] == GroupAction.HELD_DWELL
    assert ups[5] > 0


def test_resume_after_counts_intervals_when_dwell_is_met():
    config = DispatchConfig(resume_after=3, min_dwell=0, ramp_mw_per_step=100.0)
    steps = run(site_problem(PowerState.SLEEP), [CHEAP] * 4, config)
    assert [levels(s) > 0 for s in steps] == [False, False, True, True]


def test_high_strike_curtails_at_once_whatever_the_counters_and_the_estimate():
    config = DispatchConfig(curtail_after=10, high_strike_multiple=2.0)
    strike = 2.0 * BEST_BREAKEVEN + 1.0
    steps = run(site_problem(), [CHEAP, CHEAP], config, last_prices=[CHEAP, strike])
    assert levels(steps[0]) > 0
    assert levels(steps[1]) == 0 and steps[1].actions[0] == GroupAction.HIGH_STRIKE


def test_a_price_just_below_the_high_strike_waits_for_hysteresis():
    config = DispatchConfig(curtail_after=10, high_strike_multiple=2.0)
    steps = run(site_problem(), [DEAR], config, last_prices=[2.0 * BEST_BREAKEVEN - 1.0])
    assert levels(steps[0]) > 0


def test_ramp_up_is_spread_over_steps_of_at_most_the_ramp_limit():
    config = DispatchConfig(resume_after=1, min_dwell=0, ramp_mw_per_step=0.5, ramp_devices_per_step=10_000)
    steps = run(site_problem(PowerState.SLEEP), [CHEAP] * 12, config)
    mws = [s.allocation.asic_mw for s in steps]
    start = site_problem(PowerState.SLEEP).group_count.sum() * S21.power_at(PowerState.SLEEP) / 1e6
    increments = [b - a for a, b in zip([start, *mws], mws, strict=False)]
    assert max(increments) <= 0.5 + 1e-9
    assert sum(1 for inc in increments if inc > 0) >= 4
    assert mws[-1] == pytest.approx(steps[-1].target.asic_mw)


def test_ramp_up_moves_at_most_the_device_limit_per_step():
    config = DispatchConfig(resume_after=1, min_dwell=0, ramp_mw_per_step=100.0, ramp_devices_per_step=150)
    steps = run(site_problem(PowerState.SLEEP), [CHEAP] * 3, config)
    assert [levels(s) for s in steps] == [150, 300, 450]


def test_the_cap_forces_a_reduction_at_once_when_gpu_demand_grows():
    config = DispatchConfig(curtail_after=50, high_strike_multiple=100.0)
    problem = site_problem(cap=3.0)
    state = start_dispatch(problem, config)
    step = dispatch_step(state, problem, Market(CHEAP, HASHPRICE), CHEAP, config)
    crowded = with_demands(problem, [GpuDemand("ls", GpuClass.PROTECTED, GPU_MODELS["H100"], 2000, 2.0)])
    step = dispatch_step(step.state, crowded, Market(CHEAP, HASHPRICE), CHEAP, config)
    assert step.allocation.total_mw <= 3.0 + 1e-9
    assert step.allocation.gpus_granted[0] == 2000
    assert step.actions[0] == GroupAction.CAP_FORCED


def test_dispatch_never_exceeds_the_cap_over_a_volatile_run():
    config = DispatchConfig(curtail_after=3, resume_after=2, min_dwell=1, ramp_mw_per_step=0.3)
    problem = build_problem(
        SiteCap("s", 2.0),
        [AsicGroup(f"g-{name}", model, 300, PowerState.SLEEP) for name, model in ASIC_MODELS.items()],
        [],
    )
    state = start_dispatch(problem, config)
    prices = [20, 25, 400, 30, 35, 90, 2000, 15, 15, 15, 60, 70, 10, 10, 10, 10]
    for i, price in enumerate(prices):
        gpus = (i * 150) % 1100
        demands = [GpuDemand("be", GpuClass.BEST_EFFORT, GPU_MODELS["A100"], gpus + 1, 1.5)]
        step = dispatch_step(state, with_demands(problem, demands), Market(price, HASHPRICE), price, config)
        state = step.state
        assert step.allocation.total_mw <= 2.0 + 1e-9
        assert len(step.explain_groups()) == 3


def test_invalid_dispatch_config_is_refused():
    with pytest.raises(ConfigError):
        DispatchConfig(high_strike_multiple=1.0)
    with pytest.raises(ConfigError):
        DispatchConfig(curtail_after=0)
