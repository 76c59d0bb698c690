"""Capacity planning from the forecasts (pure): per site and hour, the GPU work to power, the ASIC/GPU power
split and the expected margin.

Rules, in the order power is granted under the site's cap (the allocator's order: AI outbids mining):
1. firm AI work: the forecast GPU demand (GPU-hours per hour = busy GPUs), up to the site's GPUs;
2. best-effort AI work on the GPUs the forecast leaves idle: a share `best_effort_fill` of them (an assumption
   about how much interruptible demand there is), only in hours whose forecast price is below what that work
   earns per MWh;
3. ASICs (the site's other best-effort load): the rest of the cap, only in hours whose forecast price is below
   the fleet's breakeven (strike) price.
Expected margin = AI revenue + best-effort revenue + mining revenue (the breakeven price is mining revenue per
MWh) - power cost at the forecast price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hcp.economics import ASIC_MODELS, GPU_MODELS, PowerState, breakeven_usd_per_mwh
from hcp.fleet import Site
from models.exceptions import InputDataError

COOLING_FACTOR = 1.3


@dataclass(frozen=True)
class SiteCapacity:
    """What a site can power and what its work earns."""

    site_id: str
    node: str
    power_cap_mw: float
    gpus: int
    mw_per_gpu: float
    asic_mw: float
    asic_breakeven_usd_mwh: float
    gpu_rate_usd_per_gpu_hour: float = 2.0
    best_effort_rate_usd_per_gpu_hour: float = 1.0
    best_effort_fill: float = 0.25


def site_capacity(site: Site, hashprice: float, gpu_rate: float = 2.0, best_effort_rate: float = 1.0) -> SiteCapacity:
    """A fleet site's capacity: GPUs with cooling, ASICs at normal power, their MW-weighted breakeven price."""
    gpus = sum(g.count for g in site.gpus)
    gpu_mw = sum(g.count * GPU_MODELS[g.model].power_w for g in site.gpus) * COOLING_FACTOR / 1e6
    asic_w = [(ASIC_MODELS[a.model], a.count) for a in site.asics]
    asic_mw = sum(m.power_at(PowerState.NORMAL) * n for m, n in asic_w) / 1e6
    strike = (
        sum(breakeven_usd_per_mwh(hashprice, m.joules_per_th()) * m.power_at(PowerState.NORMAL) * n for m, n in asic_w)
        / (asic_mw * 1e6)
        if asic_mw
        else 0.0
    )
    return SiteCapacity(
        site.site_id,
        site.node,
        site.power_cap_mw,
        gpus,
        gpu_mw / gpus if gpus else 0.0,
        asic_mw,
        strike,
        gpu_rate,
        best_effort_rate,
    )


@dataclass(frozen=True)
class HourPlan:
    """One site-hour of the plan."""

    hour: datetime
    price_usd_mwh: float
    gpus_demanded: float
    gpus_firm: float
    gpus_best_effort: float
    gpu_mw: float
    asic_mw: float
    mining: bool
    expected_margin_usd: float

    @property
    def gpu_share(self) -> float:
        total = self.gpu_mw + self.asic_mw
        return self.gpu_mw / total if total else 0.0

    @property
    def best_effort_hours(self) -> float:
        """GPU-hours of best-effort AI work planned in this hour."""
        return self.gpus_best_effort


def plan_hours(
    site: SiteCapacity, prices: Sequence[tuple[datetime, float]], gpus_demanded: Sequence[float]
) -> list[HourPlan]:
    """The plan of each hour, from its forecast price and forecast GPU demand (same length and order)."""
    if len(prices) != len(gpus_demanded):
        raise InputDataError(f"{len(prices)} price hours but {len(gpus_demanded)} demand hours; give one of each")
    plans = []
    for (hour, price), demanded in zip(prices, gpus_demanded, strict=True):
        cap = site.power_cap_mw
        per_gpu = site.mw_per_gpu or float("inf")
        firm = min(max(float(demanded), 0.0), site.gpus, cap / per_gpu)
        left = cap - firm * per_gpu
        be_value_per_mwh = site.best_effort_rate_usd_per_gpu_hour / per_gpu
        best_effort = 0.0
        if price < be_value_per_mwh:
            best_effort = min((site.gpus - firm) * site.best_effort_fill, left / per_gpu)
        left -= best_effort * per_gpu
        mining = price < site.asic_breakeven_usd_mwh and left > 0
        asic_mw = min(site.asic_mw, left) if mining else 0.0
        gpu_mw = (firm + best_effort) * (site.mw_per_gpu)
        margin = (
            firm * site.gpu_rate_usd_per_gpu_hour
            + best_effort * site.best_effort_rate_usd_per_gpu_hour
            + asic_mw * site.asic_breakeven_usd_mwh
            - (gpu_mw + asic_mw) * price
        )
        plans.append(HourPlan(hour, price, float(demanded), firm, best_effort, gpu_mw, asic_mw, mining, margin))
    return plans


@dataclass(frozen=True)
class BestEffortSummary:
    """Totals of a plan: best-effort GPU-hours, mining hours and the expected margin."""

    best_effort_gpu_hours: float
    mining_hours: int
    expected_margin_usd: float


def summarise_plan(plans: Sequence[HourPlan]) -> BestEffortSummary:
    return BestEffortSummary(
        sum(p.gpus_best_effort for p in plans),
        sum(1 for p in plans if p.mining),
        sum(p.expected_margin_usd for p in plans),
    )
