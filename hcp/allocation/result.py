"""What the allocator answers: devices per power state, GPUs per demand, MW, value, and the reason for each option.

The hot path builds arrays only; `explain()` turns them into one `OptionReport` per option when someone reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hcp.allocation.inputs import GPU_CLASS_RANK, GpuClass, Market
from hcp.allocation.ladder import STATE_ORDER
from hcp.allocation.options import Options
from hcp.allocation.problem import AllocationProblem, IntArray
from hcp.economics import PowerState

_CLASS_OF_TIER = {rank: gpu_class for gpu_class, rank in GPU_CLASS_RANK.items()}


@dataclass(frozen=True)
class OptionReport:
    """One option (an ASIC model's rung, or a GPU demand) with what it got and why."""

    label: str
    tier: int
    units_available: int
    units_granted: int
    mw_per_unit: float
    value_usd_mwh: float
    """Marginal net value of one more MW spent on this option."""
    reason: str


@dataclass(frozen=True)
class Allocation:
    """An allocation of the site's power. Arrays follow `problem`'s group and demand order (read-only)."""

    problem: AllocationProblem
    market: Market
    options: Options
    group_levels: IntArray
    """Devices of each group on each rung or above, shape (groups, rungs)."""
    gpus_granted: IntArray
    asic_mw: float
    gpu_mw: float
    value_usd_per_hour: float

    @property
    def total_mw(self) -> float:
        return self.asic_mw + self.gpu_mw

    @classmethod
    def evaluate(
        cls, problem: AllocationProblem, market: Market, options: Options, group_levels: IntArray, gpus: IntArray
    ) -> Allocation:
        """The MW and value of running `group_levels` and `gpus`."""
        levels = model_levels(problem, group_levels)
        rungs = levels.size
        asic_mw = options.base_mw + float(levels.ravel() @ options.unit_mw[:rungs])
        gpu_mw = float(gpus @ options.unit_mw[rungs:])
        value = options.base_value + float(levels.ravel() @ options.unit_value[:rungs])
        value += float(gpus @ options.unit_value[rungs:])
        return cls(problem, market, options, group_levels, gpus, asic_mw, gpu_mw, value)

    def model_levels(self) -> IntArray:
        """Devices of each model on each rung or above, shape (models, rungs)."""
        return model_levels(self.problem, self.group_levels)

    def group_state_counts(self) -> IntArray:
        """Devices of each group in each power state, columns in `STATE_ORDER`."""
        return _state_counts(self.problem, self.group_levels, self.problem.group_count)

    def asic_counts(self) -> dict[tuple[str, PowerState], int]:
        """Devices of each model in each power state."""
        counts = _state_counts(self.problem, self.model_levels(), self.problem.model_count)
        return {
            (model.name, state): int(counts[m, s])
            for m, model in enumerate(self.problem.models)
            for s, state in enumerate(STATE_ORDER)
        }

    def gpus_by_class(self) -> dict[GpuClass, tuple[int, int]]:
        """GPUs granted and requested per class."""
        tier = self.problem.demand_tier
        return {
            gpu_class: (int(self.gpus_granted[tier == rank].sum()), int(self.problem.demand_gpus[tier == rank].sum()))
            for gpu_class, rank in GPU_CLASS_RANK.items()
        }

    def explain(self) -> tuple[OptionReport, ...]:
        """Every option with its marginal value per MW and the reason it got what it got."""
        problem, options = self.problem, self.options
        granted = np.concatenate([self.model_levels().ravel(), self.gpus_granted])
        density = options.density
        labels = [
            f"{model.name} {low}->{high}"
            for model in problem.models
            for low, high in zip(problem.ladder.states, problem.ladder.states[1:], strict=False)
        ]
        labels += [
            f"{_CLASS_OF_TIER[int(t)]} {gpu_type} {demand_id}"
            for demand_id, gpu_type, t in zip(
                problem.demand_ids, problem.demand_gpu_types, problem.demand_tier, strict=True
            )
        ]
        cap_full = self.total_mw + options.unit_mw > problem.site.power_cap_mw
        return tuple(
            OptionReport(
                label=labels[i],
                tier=int(options.tier[i]),
                units_available=int(options.units[i]),
                units_granted=int(granted[i]),
                mw_per_unit=float(options.unit_mw[i]),
                value_usd_mwh=float(density[i]),
                reason=self._reason(i, int(granted[i]), bool(cap_full[i])),
            )
            for i in range(granted.size)
        )

    def _reason(self, i: int, granted: int, cap_full: bool) -> str:
        options, price = self.options, self.market.energy_price_usd_mwh
        units, density, tier = int(options.units[i]), float(options.density[i]), int(options.tier[i])
        net = f"net {density:.0f} USD/MWh at {price:.0f} USD/MWh"
        unit = "devices" if i < self.group_levels.shape[1] * len(self.problem.models) else "GPUs"
        if tier == 0:
            if granted == units:
                return f"protected work, served first whatever the price ({net})"
            return f"protected work, served first: only {granted} of {units} {unit} fit under the cap"
        if density <= 0.0:
            return f"{net}: running it loses money, none run"
        if granted == units:
            return f"{net}: all {units} {unit} run"
        if cap_full:
            return f"{net}: {granted} of {units} {unit} run, the cap is full with options ranked higher"
        return f"{net}: {granted} of {units} {unit} run, the rest held back by hysteresis, dwell or ramp limits"


def model_levels(problem: AllocationProblem, group_levels: IntArray) -> IntArray:
    """Sum group levels per model, shape (models, rungs)."""
    models = len(problem.models)
    columns = [np.bincount(problem.group_model, weights=column, minlength=models) for column in group_levels.T]
    return np.column_stack(columns).astype(np.int64) if columns else np.zeros((models, 0), dtype=np.int64)


def _state_counts(problem: AllocationProblem, levels: IntArray, count: IntArray) -> IntArray:
    at_or_above = np.column_stack([count, levels, np.zeros(len(count), dtype=np.int64)])
    per_rung = at_or_above[:, :-1] - at_or_above[:, 1:]
    out = np.zeros((len(count), len(STATE_ORDER)), dtype=np.int64)
    for rung, state in enumerate(problem.ladder.states):
        out[:, STATE_ORDER.index(state)] = per_rung[:, rung]
    return out
