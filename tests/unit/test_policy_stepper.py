import random

import pytest

from hcp.economics import breakeven_usd_per_mwh
from hcp.exceptions import ConfigError
from hcp.policy import CurtailmentPolicy, Observation, PolicyState, step, target_fraction

HASHPRICE = 70.0
JPT = 29.5
BREAKEVEN = breakeven_usd_per_mwh(HASHPRICE, JPT)


def observe(last: float | None, da: float | None = None, last_da: float | None = None) -> Observation:
    return Observation(last_rt_price=last, last_da_price=last_da, da_price=da, hashprice=HASHPRICE, joules_per_th=JPT)


def replay(prices: list[float], da: list[float], policy: CurtailmentPolicy) -> list[float]:
    """Run fractions for intervals 0..n-1; interval i sees prices[:i] and the day-ahead prices."""
    state, fractions = PolicyState(), []
    for i in range(len(prices)):
        last = prices[i - 1] if i else None
        last_da = da[i - 1] if i else None
        state, fraction, _ = step(state, observe(last, da[i], last_da), policy)
        fractions.append(fraction)
    return fractions


@pytest.mark.parametrize("seed", range(5))
def test_changing_prices_after_t_leaves_every_earlier_decision_unchanged(seed):
    rng = random.Random(seed)
    n, cut = 400, 250
    prices = [rng.choice([rng.uniform(-10, 80), rng.uniform(80, 600)]) for _ in range(n)]
    da = [rng.uniform(10, 150) for _ in range(n)]
    perturbed = prices[:cut] + [rng.uniform(-50, 5000) for _ in range(n - cut)]
    policy = CurtailmentPolicy(curtail_after=2, resume_after=3, min_dwell=2)
    before, after = replay(prices, da, policy), replay(perturbed, da, policy)
    # Interval `cut` is the first whose price changed; its own decision may not depend on it either.
    assert before[: cut + 1] == after[: cut + 1]
    assert before != after


def test_last_price_far_above_breakeven_curtails_at_once_despite_hysteresis():
    policy = CurtailmentPolicy(curtail_after=3, high_strike_multiple=2.0)
    state, fraction, reason = step(PolicyState(), observe(2.5 * BREAKEVEN), policy)
    assert fraction == 0.0
    assert state.run_fraction == 0.0
    assert "high strike" in reason


def test_price_just_above_breakeven_waits_for_the_hysteresis_count():
    policy = CurtailmentPolicy(curtail_after=2, band=0.0, high_strike_multiple=5.0)
    state, first, _ = step(PolicyState(), observe(1.2 * BREAKEVEN), policy)
    state, second, _ = step(state, observe(1.2 * BREAKEVEN), policy)
    assert (first, second) == (1.0, 0.0)


def test_curtailed_fleet_resumes_only_after_enough_intervals_below_and_the_dwell():
    policy = CurtailmentPolicy(resume_after=2, min_dwell=3, band=0.0)
    state, fraction, _ = step(PolicyState(), observe(1.5 * BREAKEVEN), policy)
    assert fraction == 0.0
    fractions = []
    for _ in range(4):
        state, fraction, _ = step(state, observe(0.5 * BREAKEVEN), policy)
        fractions.append(fraction)
    # below twice after interval 2, but the dwell of 3 intervals at 0 holds it off until interval 4
    assert fractions == [0.0, 0.0, 0.0, 1.0]


def test_estimate_in_the_band_runs_part_of_the_fleet():
    assert target_fraction(BREAKEVEN, BREAKEVEN, band=0.1) == pytest.approx(0.5)
    assert 0.0 < target_fraction(1.05 * BREAKEVEN, BREAKEVEN, band=0.1) < 0.5
    assert target_fraction(0.8 * BREAKEVEN, BREAKEVEN, band=0.1) == 1.0
    assert target_fraction(1.2 * BREAKEVEN, BREAKEVEN, band=0.1) == 0.0


def test_day_ahead_rise_into_the_next_hour_moves_the_estimate_above_breakeven():
    policy = CurtailmentPolicy(band=0.0, persistence=1.0)
    last = 0.9 * BREAKEVEN
    _, flat, _ = step(PolicyState(), observe(last, da=40.0, last_da=40.0), policy)
    _, rising, reason = step(PolicyState(), observe(last, da=40.0 + 0.3 * BREAKEVEN, last_da=40.0), policy)
    assert (flat, rising) == (1.0, 0.0)
    assert "estimate" in reason


def test_nothing_known_yet_keeps_the_fleet_running():
    _, fraction, reason = step(PolicyState(), observe(None), CurtailmentPolicy())
    assert fraction == 1.0
    assert "no price" in reason


def test_invalid_policy_numbers_are_config_errors():
    with pytest.raises(ConfigError, match="high_strike_multiple"):
        CurtailmentPolicy(high_strike_multiple=0.5)
    with pytest.raises(ConfigError, match="curtail_after"):
        CurtailmentPolicy(curtail_after=0)
