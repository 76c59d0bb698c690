"""One step of the curtailment policy: what share of a model's fleet runs in the interval about to start.

Pure and stateless apart from the `PolicyState` it is handed: the live agent and `hcp backtest` call `step` with
the same observation and get the same answer. An `Observation` holds only what is known when the interval starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from hcp.economics import breakeven_usd_per_mwh
from hcp.policy.config import CurtailmentPolicy

DEFAULT_POLICY = CurtailmentPolicy()


@dataclass(frozen=True)
class Observation:
    """What is known at the start of one real-time interval, for one ASIC model.

    `last_rt_price` is the real-time price of the previous interval (None before the first price is known);
    `last_da_price` the day-ahead price of the hour that interval belonged to; `da_price` the day-ahead price of
    this interval's hour (None without day-ahead prices); `hashprice` the latest settled one, i.e. yesterday's.
    """

    last_rt_price: float | None
    last_da_price: float | None
    da_price: float | None
    hashprice: float
    joules_per_th: float

    @property
    def breakeven(self) -> float:
        return breakeven_usd_per_mwh(self.hashprice, self.joules_per_th)


@dataclass(frozen=True)
class PolicyState:
    """What the policy remembers between intervals for one model's fleet."""

    run_fraction: float = 1.0
    intervals_down: int = 0
    """Consecutive intervals whose target was below the current run fraction."""
    intervals_up: int = 0
    """Consecutive intervals whose target was above the current run fraction."""
    dwell: int = 0
    """Intervals spent at the current run fraction."""


def estimate_price(observation: Observation, persistence: float) -> float | None:
    """Expected real-time price of this interval: day-ahead for this hour plus the persisting part of the last
    real-time deviation from day-ahead; the last real-time price alone without day-ahead; None knowing nothing."""
    last, last_da, da = observation.last_rt_price, observation.last_da_price, observation.da_price
    if last is None:
        return da
    if da is None or last_da is None:
        return last
    return da + persistence * (last - last_da)


def target_fraction(estimate: float, breakeven: float, band: float) -> float:
    """Share of the fleet worth running at `estimate`: all below the band, none above it, linear inside it."""
    if band == 0.0:
        return 1.0 if estimate <= breakeven else 0.0
    ratio = estimate / breakeven
    return min(1.0, max(0.0, (1.0 + band - ratio) / (2.0 * band)))


def step(
    state: PolicyState, observation: Observation, policy: CurtailmentPolicy = DEFAULT_POLICY
) -> tuple[PolicyState, float, str]:
    """Advance one interval: the new state, the run fraction (0 to 1) for this interval, and the reason."""
    breakeven = observation.breakeven
    if not math.isfinite(breakeven) or breakeven <= 0.0:
        return _move(state, 0.0), 0.0, f"breakeven {breakeven:.2f} USD/MWh is not positive: curtail"
    last = observation.last_rt_price
    if last is not None and last >= policy.high_strike_multiple * breakeven:
        reason = f"high strike: last price {last:.2f} >= {policy.high_strike_multiple:g} x breakeven {breakeven:.2f}"
        return _move(state, 0.0), 0.0, reason
    estimate = estimate_price(observation, policy.persistence)
    if estimate is None:
        kept = replace(state, dwell=state.dwell + 1)
        return kept, state.run_fraction, "no price known yet: keep the current run fraction"
    target = target_fraction(estimate, breakeven, policy.band)
    numbers = f"estimate {estimate:.2f} vs breakeven {breakeven:.2f} USD/MWh"
    current = state.run_fraction
    if target < current:
        down = state.intervals_down + 1
        if down >= policy.curtail_after:
            return _move(state, target), target, f"{numbers}: reduce to {target:.2f}"
        held = replace(state, intervals_down=down, intervals_up=0, dwell=state.dwell + 1)
        return held, current, f"{numbers}: hold {current:.2f}, {down}/{policy.curtail_after} intervals above"
    if target > current:
        up = state.intervals_up + 1
        if up >= policy.resume_after and state.dwell >= policy.min_dwell:
            return _move(state, target), target, f"{numbers}: ramp up to {target:.2f}"
        held = replace(state, intervals_down=0, intervals_up=up, dwell=state.dwell + 1)
        return held, current, f"{numbers}: hold {current:.2f}, {up}/{policy.resume_after} intervals below, dwell"
    steady = PolicyState(run_fraction=current, dwell=state.dwell + 1)
    return steady, current, f"{numbers}: keep {current:.2f}"


def _move(state: PolicyState, fraction: float) -> PolicyState:
    if fraction == state.run_fraction:
        return PolicyState(run_fraction=fraction, dwell=state.dwell + 1)
    return PolicyState(run_fraction=fraction, dwell=0)
