"""The optimiser: one fractional knapsack over power options, solved greedily by value density with numpy.

Options ("items") are each ASIC model's ladder rungs (one device one rung up) and each GPU demand (one GPU).
Every option has MW and net USD/h per unit (revenue minus energy at the price); its density is net USD per MWh.
Items are served by tier (protected GPU work, then guaranteed, then best-effort GPUs and ASIC rungs together),
within a tier by density, and only with a positive density except protected work. Rungs of one model have
non-increasing densities (see `hcp.allocation.ladder`), so the greedy order climbs each device's ladder in order
and the greedy fill is the LP optimum. The integral allocation rounds the one partly filled option down, so it
falls short of the fractional optimum by less than one unit (one device) of that option.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hcp.allocation.exceptions import AllocationError
from hcp.allocation.inputs import Market
from hcp.allocation.ladder import FloatArray
from hcp.allocation.options import Options, build_options, rank_options
from hcp.allocation.problem import AllocationProblem, IntArray
from hcp.allocation.result import Allocation


@dataclass(frozen=True)
class FractionalSolution:
    """The LP optimum: units granted per option (fractional), its value and its MW."""

    units: FloatArray
    value_usd_per_hour: float
    total_mw: float


def solve_fractional(problem: AllocationProblem, market: Market) -> FractionalSolution:
    """The LP relaxation's optimum (devices and GPUs may be fractional)."""
    options = build_options(problem, market)
    cap_left = _cap_left(problem, options)
    order = rank_options(options)
    total = np.where(options.eligible, options.units * options.unit_mw, 0.0)[order]
    before = np.cumsum(total) - total
    units = np.empty(options.units.size, dtype=np.float64)
    units[order] = np.clip(cap_left - before, 0.0, total) / options.unit_mw[order]
    return FractionalSolution(
        units=units,
        value_usd_per_hour=options.base_value + float(units @ options.unit_value),
        total_mw=options.base_mw + float(units @ options.unit_mw),
    )


def allocate(problem: AllocationProblem, market: Market) -> Allocation:
    """The integral allocation: whole devices and GPUs, within one unit of the fractional optimum."""
    options = build_options(problem, market)
    cap_left = _cap_left(problem, options)
    order = rank_options(options)
    units = np.where(options.eligible, options.units, 0)[order]
    unit_mw = options.unit_mw[order]
    total = units * unit_mw
    after = np.cumsum(total)
    before = after - total
    slack = 1e-12 * max(1.0, cap_left)
    partial = np.floor(np.clip(cap_left - before, 0.0, None) / unit_mw).astype(np.int64)
    granted = np.empty(units.size, dtype=np.int64)
    granted[order] = np.where(after <= cap_left + slack, units, np.minimum(units, partial))
    rungs = problem.ladder.rungs
    model_levels = granted[: len(problem.models) * rungs].reshape(len(problem.models), rungs)
    group_levels = distribute_levels(problem, model_levels)
    return Allocation.evaluate(problem, market, options, group_levels, granted[len(problem.models) * rungs :])


def distribute_levels(problem: AllocationProblem, model_levels: IntArray) -> IntArray:
    """Spread each model's devices per rung over its groups, the groups now highest on the ladder first, so that
    devices stay where they are when the model-level answer allows."""
    count = problem.group_count
    mean_rung = problem.group_levels.sum(axis=1) / np.maximum(count, 1)
    order = np.lexsort((-mean_rung, problem.group_model))
    sorted_model = problem.group_model[order]
    sorted_count = count[order]
    model_total = np.bincount(problem.group_model, weights=count, minlength=len(problem.models)).astype(np.int64)
    model_offset = np.cumsum(model_total) - model_total
    start = np.cumsum(sorted_count) - sorted_count - model_offset[sorted_model]
    levels = np.empty_like(problem.group_levels)
    levels[order] = np.clip(model_levels[sorted_model] - start[:, None], 0, sorted_count[:, None])
    return levels


def _cap_left(problem: AllocationProblem, options: Options) -> float:
    cap_left = problem.site.power_cap_mw - options.base_mw
    if cap_left < 0.0:
        raise AllocationError(
            f"site {problem.site.site_id}: the ASICs' base state alone draws {options.base_mw:.3f} MW, "
            f"above the cap of {problem.site.power_cap_mw:.3f} MW"
        )
    return cap_left
