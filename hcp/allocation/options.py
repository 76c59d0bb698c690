"""The options of an allocation: each ASIC model's ladder rungs and each GPU demand, with MW and net USD/h a unit.

Tiers: 0 protected GPU work, 1 guaranteed, 2 best-effort GPU work and the ASIC rungs, which compete by density.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hcp.allocation.inputs import Market
from hcp.allocation.ladder import FloatArray
from hcp.allocation.problem import AllocationProblem, IntArray

MARKET_TIER = 2


@dataclass(frozen=True)
class Options:
    """The items of one problem at one market, ASIC rungs first (index `model * rungs + rung - 1`), then demands."""

    unit_mw: FloatArray
    unit_value: FloatArray
    """Net USD per hour of one unit."""
    units: IntArray
    tier: IntArray
    base_mw: float
    base_value: float
    """MW and net USD/h of every ASIC in its base (sleep) state, which no allocation avoids."""

    @property
    def density(self) -> FloatArray:
        """Net value per MW, in USD/MWh."""
        return self.unit_value / self.unit_mw

    @property
    def eligible(self) -> npt.NDArray[np.bool_]:
        """Options that may run: protected work always, everything else only with a positive net value."""
        return (self.tier == 0) | (self.density > 0.0)


def build_options(problem: AllocationProblem, market: Market) -> Options:
    """Every option's MW and net value per unit at `market`'s prices."""
    ladder = problem.ladder
    price, hashprice = market.energy_price_usd_mwh, market.hashprice_usd_ph_day
    model_mw = problem.model_power_w / 1e6
    model_usd = problem.model_hashrate_th / 1000.0 * hashprice / 24.0
    rung_mw = np.outer(model_mw, ladder.step_power()).ravel()
    rung_value = np.outer(model_usd, ladder.step_hashrate()).ravel() - rung_mw * price
    count = problem.model_count
    base_mw_each = model_mw * ladder.power_factors[0]
    base_value_each = model_usd * ladder.hashrate_factors[0] - base_mw_each * price
    return Options(
        unit_mw=np.concatenate([rung_mw, problem.demand_mw]),
        unit_value=np.concatenate([rung_value, problem.demand_value - problem.demand_mw * price]),
        units=np.concatenate([np.repeat(count, ladder.rungs), problem.demand_gpus]),
        tier=np.concatenate([np.full(rung_mw.size, MARKET_TIER, dtype=np.int64), problem.demand_tier]),
        base_mw=float(count @ base_mw_each),
        base_value=float(count @ base_value_each),
    )


def rank_options(options: Options) -> IntArray:
    """Serving order: by tier, then by density (highest first), then by index (a model's rungs bottom up)."""
    return np.lexsort((np.arange(options.units.size), -options.density, options.tier))
