"""An allocation problem compiled to numpy arrays once, so that each interval's allocation is pure array work.

The ASIC side is per group and per rung of the state ladder: `group_levels[g, k - 1]` counts the devices of
group `g` on rung `k` or above (rung 0, the base state, holds everyone). That cumulative form is the knapsack's
own: the `k`-th rung item of a model can grant at most as many devices as its rung `k - 1` item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from hcp.allocation.inputs import GPU_CLASS_RANK, AsicGroup, GpuDemand, SiteCap
from hcp.allocation.ladder import STATE_ORDER, FloatArray, StateLadder, build_ladder
from hcp.economics import POWER_STATE_PROFILES, AsicModel, PowerState, PowerStateProfile
from hcp.exceptions import ConfigError

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AllocationProblem:
    """A site, its ASIC groups and its GPU demand, as arrays (treat them as read-only)."""

    site: SiteCap
    ladder: StateLadder
    models: tuple[AsicModel, ...]
    model_hashrate_th: FloatArray
    model_power_w: FloatArray
    group_ids: tuple[str, ...]
    group_model: IntArray
    group_count: IntArray
    group_levels: IntArray
    """Current devices on each rung or above, shape (groups, rungs)."""
    demand_ids: tuple[str, ...]
    demand_gpu_types: tuple[str, ...]
    demand_tier: IntArray
    demand_gpus: IntArray
    demand_value: FloatArray
    """USD per GPU-hour."""
    demand_mw: FloatArray
    """MW drawn per GPU, cooling included."""

    @property
    def model_count(self) -> IntArray:
        return np.bincount(self.group_model, weights=self.group_count, minlength=len(self.models)).astype(np.int64)


def build_problem(
    site: SiteCap,
    groups: Iterable[AsicGroup],
    demands: Iterable[GpuDemand],
    profiles: Mapping[PowerState, PowerStateProfile] = POWER_STATE_PROFILES,
) -> AllocationProblem:
    """Compile the inputs; group and demand ids must be unique."""
    groups = tuple(groups)
    ladder = build_ladder(profiles)
    models: dict[str, AsicModel] = {}
    for group in groups:
        if models.setdefault(group.model.name, group.model) != group.model:
            raise ConfigError(f"two different ASIC models are named {group.model.name!r}")
    names = list(models)
    _check_unique("group", [g.group_id for g in groups])
    problem = AllocationProblem(
        site=site,
        ladder=ladder,
        models=tuple(models.values()),
        model_hashrate_th=np.array([m.hashrate_th for m in models.values()], dtype=np.float64),
        model_power_w=np.array([m.power_w for m in models.values()], dtype=np.float64),
        group_ids=tuple(g.group_id for g in groups),
        group_model=np.array([names.index(g.model.name) for g in groups], dtype=np.int64),
        group_count=np.array([g.count for g in groups], dtype=np.int64),
        group_levels=_levels_of(groups, ladder),
        demand_ids=(),
        demand_gpu_types=(),
        demand_tier=np.zeros(0, dtype=np.int64),
        demand_gpus=np.zeros(0, dtype=np.int64),
        demand_value=np.zeros(0, dtype=np.float64),
        demand_mw=np.zeros(0, dtype=np.float64),
    )
    return with_demands(problem, demands)


def with_demands(problem: AllocationProblem, demands: Iterable[GpuDemand]) -> AllocationProblem:
    """The same site and ASICs with new GPU demand (the part that changes every interval)."""
    demands = tuple(demands)
    _check_unique("demand", [d.demand_id for d in demands])
    return replace(
        problem,
        demand_ids=tuple(d.demand_id for d in demands),
        demand_gpu_types=tuple(d.gpu_type.name for d in demands),
        demand_tier=np.array([GPU_CLASS_RANK[d.gpu_class] for d in demands], dtype=np.int64),
        demand_gpus=np.array([d.gpus for d in demands], dtype=np.int64),
        demand_value=np.array([d.value_usd_per_gpu_hour for d in demands], dtype=np.float64),
        demand_mw=np.array([d.mw_per_gpu for d in demands], dtype=np.float64),
    )


def with_levels(problem: AllocationProblem, group_levels: IntArray) -> AllocationProblem:
    """The same problem with the ASICs now standing at `group_levels`."""
    if group_levels.shape != problem.group_levels.shape:
        raise ConfigError(f"levels of shape {group_levels.shape} do not fit {problem.group_levels.shape}")
    return replace(problem, group_levels=group_levels)


def _levels_of(groups: tuple[AsicGroup, ...], ladder: StateLadder) -> IntArray:
    rungs = np.zeros((len(groups), ladder.rungs + 1), dtype=np.int64)
    rung_of_state = {state: ladder.rung_of(state) for state in STATE_ORDER}
    for row, group in enumerate(groups):
        for state, count in group.state_counts().items():
            rungs[row, rung_of_state[state]] += count
    at_or_above = np.cumsum(rungs[:, ::-1], axis=1)[:, ::-1]
    return np.ascontiguousarray(at_or_above[:, 1:])


def _check_unique(label: str, ids: list[str]) -> None:
    if len(ids) != len(set(ids)):
        raise ConfigError(f"duplicate {label} ids")
