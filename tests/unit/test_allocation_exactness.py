"""The allocator against an exact LP solver (scipy's HiGHS) on random instances.

The LP is written independently of the allocator: one variable per (model, power state) counting devices in that
state (summing to the model's count), one per GPU demand, and the classes served in tiers: protected work fixed
at its request, then the best guaranteed work within the cap left, then ASICs and best-effort work together.
"""

import random

import numpy as np
import pytest
from scipy.optimize import linprog

from hcp.allocation import (
    AsicGroup,
    GpuClass,
    GpuDemand,
    Market,
    SiteCap,
    allocate,
    build_ladder,
    build_problem,
    solve_fractional,
)
from hcp.economics import ASIC_MODELS, GPU_MODELS, POWER_STATE_PROFILES, AsicModel, PowerState, PowerStateProfile

NON_CONCAVE = {**POWER_STATE_PROFILES, PowerState.LOW: PowerStateProfile(hashrate_factor=0.35, power_factor=0.6)}


def random_instance(rng: random.Random, profiles=POWER_STATE_PROFILES):
    models = list(ASIC_MODELS.values()) + [
        AsicModel(f"X{i}", hashrate_th=rng.uniform(50, 250), power_w=rng.uniform(2000, 4000)) for i in range(2)
    ]
    groups = [
        AsicGroup(f"g{m}-{j}", model, rng.randint(1, 300), rng.choice(list(PowerState)))
        for m, model in enumerate(rng.sample(models, rng.randint(1, len(models))))
        for j in range(rng.randint(1, 4))
    ]
    demands = [
        GpuDemand(
            f"d{i}",
            rng.choice(list(GpuClass)),
            rng.choice(list(GPU_MODELS.values())),
            rng.randint(1, 200),
            rng.uniform(0.3, 5.0),
            rng.uniform(1.0, 1.6),
        )
        for i in range(rng.randint(0, 8))
    ]
    floor = sum(g.count * g.model.power_at(PowerState.SLEEP) for g in groups) / 1e6
    protected = sum(d.gpus * d.mw_per_gpu for d in demands if d.gpu_class is GpuClass.PROTECTED)
    everything = sum(g.count * g.model.power_w * 1.25 for g in groups) / 1e6 + sum(
        d.gpus * d.mw_per_gpu for d in demands
    )
    cap = floor + protected + rng.uniform(0.0, 1.1) * (everything - floor - protected) + 1e-6
    price = rng.choice([rng.uniform(-20, 150), rng.uniform(150, 6000)])
    market = Market(energy_price_usd_mwh=price, hashprice_usd_ph_day=rng.uniform(30, 120))
    return build_problem(SiteCap("site", cap), groups, demands, profiles), groups, demands, market, profiles


def lp_optimum(groups, demands, market, cap, profiles) -> float:
    price, hashprice = market.energy_price_usd_mwh, market.hashprice_usd_ph_day

    def gpu_net(d):
        return d.value_usd_per_gpu_hour - d.mw_per_gpu * price

    protected = [d for d in demands if d.gpu_class is GpuClass.PROTECTED]
    value = sum(d.gpus * gpu_net(d) for d in protected)
    cap -= sum(d.gpus * d.mw_per_gpu for d in protected)
    floor = sum(g.count * g.model.power_w * min(p.power_factor for p in profiles.values()) for g in groups) / 1e6
    guaranteed = [d for d in demands if d.gpu_class is GpuClass.GUARANTEED]
    if guaranteed:
        res = linprog(
            c=[-gpu_net(d) for d in guaranteed],
            A_ub=[[d.mw_per_gpu for d in guaranteed]],
            b_ub=[cap - floor],
            bounds=[(0, d.gpus) for d in guaranteed],
            method="highs",
        )
        assert res.status == 0
        value -= res.fun
        cap -= float(np.dot(res.x, [d.mw_per_gpu for d in guaranteed]))
    best_effort = [d for d in demands if d.gpu_class is GpuClass.BEST_EFFORT]
    states = list(profiles)
    cost, mw, eq_rows, eq_rhs = [], [], [], []
    for g, group in enumerate(groups):
        for state in states:
            p = profiles[state]
            revenue = group.model.hashrate_th * p.hashrate_factor / 1000 * hashprice / 24
            power = group.model.power_w * p.power_factor / 1e6
            cost.append(-(revenue - power * price))
            mw.append(power)
        row = [0.0] * (len(groups) * len(states) + len(best_effort))
        row[g * len(states) : (g + 1) * len(states)] = [1.0] * len(states)
        eq_rows.append(row)
        eq_rhs.append(group.count)
    cost += [-gpu_net(d) for d in best_effort]
    mw += [d.mw_per_gpu for d in best_effort]
    bounds = [(0, None)] * (len(groups) * len(states)) + [(0, d.gpus) for d in best_effort]
    res = linprog(
        c=cost, A_ub=[mw], b_ub=[cap], A_eq=eq_rows or None, b_eq=eq_rhs or None, bounds=bounds, method="highs"
    )
    assert res.status == 0
    return value - res.fun


@pytest.mark.parametrize("seed", range(60))
def test_fractional_allocation_equals_the_lp_optimum(seed):
    problem, groups, demands, market, profiles = random_instance(random.Random(seed))
    exact = lp_optimum(groups, demands, market, problem.site.power_cap_mw, profiles)
    ours = solve_fractional(problem, market).value_usd_per_hour
    assert ours == pytest.approx(exact, rel=1e-6, abs=1e-6 * max(1.0, abs(exact)))


@pytest.mark.parametrize("seed", range(20))
def test_states_below_the_hull_are_skipped_and_the_lp_optimum_is_still_reached(seed):
    problem, groups, demands, market, profiles = random_instance(random.Random(1000 + seed), NON_CONCAVE)
    assert build_ladder(NON_CONCAVE).skipped == (PowerState.LOW,)
    exact = lp_optimum(groups, demands, market, problem.site.power_cap_mw, profiles)
    assert solve_fractional(problem, market).value_usd_per_hour == pytest.approx(exact, rel=1e-6, abs=1e-6)
    assert all(count == 0 for (_, state), count in allocate(problem, market).asic_counts().items() if state == "low")


@pytest.mark.parametrize("seed", range(60))
def test_integral_allocation_is_within_one_device_per_model_of_the_fractional_optimum(seed):
    problem, *_, market, _ = random_instance(random.Random(seed))
    fractional = solve_fractional(problem, market)
    integral = allocate(problem, market)
    rungs = problem.ladder.rungs * len(problem.models)
    gap_per_rung = fractional.units[:rungs].reshape(len(problem.models), -1) - integral.model_levels()
    assert np.all(gap_per_rung > -1e-9)
    assert np.all(gap_per_rung.sum(axis=1) < 1.0 + 1e-9)
    one_device = max(0.0, float(integral.options.unit_value[:rungs].max(initial=0.0)))
    one_gpu = max(0.0, float(integral.options.unit_value[rungs:].max(initial=0.0)))
    gap = fractional.value_usd_per_hour - integral.value_usd_per_hour
    assert -1e-9 <= gap <= max(one_device, one_gpu) + 1e-9
    assert integral.total_mw <= problem.site.power_cap_mw + 1e-9


def test_default_power_states_have_decreasing_marginal_efficiency():
    ladder = build_ladder()
    assert ladder.states == tuple(PowerState) and ladder.skipped == ()
    marginal = ladder.step_hashrate() / ladder.step_power()
    assert np.all(np.diff(marginal) < 0)
