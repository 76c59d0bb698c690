"""Dispatch over time: a thin, pure, stateful wrapper that moves the ASIC groups toward the optimiser's target.

Each interval `dispatch_step` asks `allocate` for the target (with the groups where they stand now) and then
applies, per group: the high strike (at once, to the base state), hysteresis on reductions (`curtail_after`),
hysteresis and a minimum dwell on increases (`resume_after`, `min_dwell`), a site-wide staggered ramp-up, and,
above all, the cap: whatever the counters say, the held state is reduced (least valuable rungs first) until it
fits beside the GPU grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from hcp.allocation.config import DispatchConfig
from hcp.allocation.inputs import Market
from hcp.allocation.knapsack import allocate
from hcp.allocation.ladder import FloatArray
from hcp.allocation.problem import AllocationProblem, IntArray, with_levels
from hcp.allocation.result import Allocation

DEFAULT_DISPATCH = DispatchConfig()


class GroupAction(IntEnum):
    """What a group did in one interval, in order of precedence."""

    KEEP = 0
    HIGH_STRIKE = 1
    CAP_FORCED = 2
    REDUCED = 3
    RAISED = 4
    RAMP_LIMITED = 5
    HELD_DWELL = 6
    HELD_HYSTERESIS = 7


@dataclass(frozen=True)
class DispatchState:
    """What dispatch remembers between intervals, one entry per group (arrays are treated as read-only)."""

    group_levels: IntArray
    """Commanded devices on each rung or above, shape (groups, rungs)."""
    intervals_down: IntArray
    intervals_up: IntArray
    since_reduced: IntArray


@dataclass(frozen=True)
class DispatchStep:
    """One interval: the new state, the commanded allocation, the optimiser's target and each group's action."""

    state: DispatchState
    allocation: Allocation
    target: Allocation
    actions: IntArray

    def explain_groups(self) -> tuple[str, ...]:
        """One reason per group."""
        return tuple(_GROUP_REASONS[GroupAction(int(a))] for a in self.actions)


_GROUP_REASONS = {
    GroupAction.KEEP: "at its target: keep",
    GroupAction.HIGH_STRIKE: "high strike: last price far above breakeven, to the base state at once",
    GroupAction.CAP_FORCED: "reduced at once to keep the site under its cap",
    GroupAction.REDUCED: "target lower for enough intervals: reduced",
    GroupAction.RAISED: "target higher for enough intervals: raised to it",
    GroupAction.RAMP_LIMITED: "raising in staggered steps: ramp limit reached this interval",
    GroupAction.HELD_DWELL: "target higher, but reduced too recently (minimum dwell): hold",
    GroupAction.HELD_HYSTERESIS: "target differs, not yet for enough intervals in a row: hold",
}


def start_dispatch(problem: AllocationProblem, config: DispatchConfig = DEFAULT_DISPATCH) -> DispatchState:
    """Dispatch state with the groups where `problem` says they stand, free to move either way."""
    groups = problem.group_levels.shape[0]
    zeros = np.zeros(groups, dtype=np.int64)
    return DispatchState(problem.group_levels, zeros, zeros, np.full(groups, config.min_dwell, dtype=np.int64))


def dispatch_step(
    state: DispatchState,
    problem: AllocationProblem,
    market: Market,
    last_rt_price: float | None,
    config: DispatchConfig = DEFAULT_DISPATCH,
) -> DispatchStep:
    """Advance one interval. `market` holds the price estimate; `last_rt_price` the last known real-time price."""
    now = state.group_levels
    target = allocate(with_levels(problem, now), market)
    options = target.options
    models, rungs = len(problem.models), problem.ladder.rungs
    rung_mw = options.unit_mw[: models * rungs].reshape(models, rungs)[problem.group_model]
    density = options.density[: models * rungs].reshape(models, rungs)[problem.group_model]
    goal = target.group_levels
    strike = _high_strike(options.unit_value, options.unit_mw, models, rungs, market, last_rt_price, config)
    strike = strike[problem.group_model] & (now > 0).any(axis=1)
    goal = np.where(strike[:, None], 0, goal)
    want_down, want_up = (goal < now).any(axis=1), (goal > now).any(axis=1)
    down = np.where(want_down, state.intervals_down + 1, 0)
    up = np.where(want_up, state.intervals_up + 1, 0)
    may_reduce = strike | (want_down & (down >= config.curtail_after))
    levels = np.where(may_reduce[:, None], np.minimum(now, goal), now)
    room = problem.site.power_cap_mw - target.gpu_mw - options.base_mw - float((levels * rung_mw).sum())
    forced = np.zeros(len(now), dtype=bool)
    if room < 0.0:
        levels, forced = _force_down(levels, goal, rung_mw, density, -room)
        room = problem.site.power_cap_mw - target.gpu_mw - options.base_mw - float((levels * rung_mw).sum())
    rested = state.since_reduced >= config.min_dwell
    may_raise = want_up & (up >= config.resume_after) & rested & ~strike & ~forced
    budget_mw = max(0.0, min(config.ramp_mw_per_step, room))
    levels = _ramp_up(levels, np.where(may_raise[:, None], goal, levels), rung_mw, density, budget_mw, config)
    reduced = (levels < now).any(axis=1)
    new_state = DispatchState(
        group_levels=levels,
        intervals_down=down,
        intervals_up=up,
        since_reduced=np.where(reduced, 0, state.since_reduced + 1),
    )
    actions = np.select(
        [
            strike & reduced,
            forced,
            reduced,
            may_raise & (levels < goal).any(axis=1),
            may_raise,
            want_up & (up >= config.resume_after) & ~rested,
            want_up | want_down,
        ],
        [
            GroupAction.HIGH_STRIKE,
            GroupAction.CAP_FORCED,
            GroupAction.REDUCED,
            GroupAction.RAMP_LIMITED,
            GroupAction.RAISED,
            GroupAction.HELD_DWELL,
            GroupAction.HELD_HYSTERESIS,
        ],
        default=GroupAction.KEEP,
    )
    allocation = Allocation.evaluate(problem, market, options, levels, target.gpus_granted)
    return DispatchStep(new_state, allocation, target, actions.astype(np.int64))


def _high_strike(
    unit_value: FloatArray,
    unit_mw: FloatArray,
    models: int,
    rungs: int,
    market: Market,
    last_rt_price: float | None,
    config: DispatchConfig,
) -> FloatArray:
    """Models whose best breakeven (energy price at which their most efficient rung nets zero) is struck."""
    if last_rt_price is None or rungs == 0:
        return np.zeros(models, dtype=bool)
    revenue_per_mwh = unit_value[: models * rungs] / unit_mw[: models * rungs] + market.energy_price_usd_mwh
    breakeven = revenue_per_mwh.reshape(models, rungs).max(axis=1)
    return last_rt_price >= config.high_strike_multiple * breakeven


def _force_down(
    levels: IntArray, goal: IntArray, rung_mw: FloatArray, density: FloatArray, excess_mw: float
) -> tuple[IntArray, np.ndarray]:
    """Reduce toward `goal`, least valuable rung first (a model's top rung before its lower ones), freeing at least
    `excess_mw`."""
    spare = np.maximum(levels - goal, 0).ravel()
    flat_rung = np.tile(np.arange(levels.shape[1]), levels.shape[0])
    order = np.lexsort((-flat_rung, density.ravel()))
    mw = rung_mw.ravel()[order]
    freed = spare[order] * mw
    before = np.cumsum(freed) - freed
    need = np.clip(excess_mw - before, 0.0, None)
    take = np.minimum(spare[order], np.ceil(need / mw - 1e-9).astype(np.int64))
    cut = np.zeros(spare.size, dtype=np.int64)
    cut[order] = take
    cut = cut.reshape(levels.shape)
    return levels - cut, (cut > 0).any(axis=1)


def _ramp_up(
    levels: IntArray,
    goal: IntArray,
    rung_mw: FloatArray,
    density: FloatArray,
    budget_mw: float,
    config: DispatchConfig,
) -> IntArray:
    """Raise toward `goal`, most valuable rung first, within the MW and device-move budgets of one interval."""
    missing = np.maximum(goal - levels, 0).ravel()
    if not missing.any():
        return levels
    flat_rung = np.tile(np.arange(levels.shape[1]), levels.shape[0])
    order = np.lexsort((flat_rung, -density.ravel()))
    mw = rung_mw.ravel()[order]
    units = missing[order]
    mw_before = np.cumsum(units * mw) - units * mw
    moves_before = np.cumsum(units) - units
    fit_mw = np.floor(np.clip(budget_mw - mw_before, 0.0, None) / mw + 1e-9).astype(np.int64)
    fit_moves = np.clip(config.ramp_devices_per_step - moves_before, 0, None)
    take = np.minimum(units, np.minimum(fit_mw, fit_moves))
    stop = np.flatnonzero(take < units)
    if stop.size:
        take[stop[0] + 1 :] = 0
    add = np.zeros(missing.size, dtype=np.int64)
    add[order] = take
    return levels + add.reshape(levels.shape)
