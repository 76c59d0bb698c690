"""What the allocator is asked: the site's cap, its ASIC groups, the GPU demand and the market, as frozen dataclasses.

Units: power cap in MW, energy price in USD/MWh, hashprice in USD per PH/s per day, GPU value in USD per GPU-hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hcp.economics import AsicModel, GpuModel, PowerState
from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass


class GpuClass(StrEnum):
    """How GPU demand ranks for power. Protected work is never shed for price or for ASICs; guaranteed work is
    granted before ASICs and best-effort work; both are shed only when the price makes their net value negative."""

    PROTECTED = "protected"
    GUARANTEED = "guaranteed"
    BEST_EFFORT = "best_effort"


GPU_CLASS_RANK: dict[GpuClass, int] = {GpuClass.PROTECTED: 0, GpuClass.GUARANTEED: 1, GpuClass.BEST_EFFORT: 2}
"""Tier of each class: lower tiers are served first under the cap; ASIC power states compete in the last tier."""

_CLASS_OF_QOS = {
    QosClass.LS: GpuClass.PROTECTED,
    QosClass.GUARANTEED: GpuClass.GUARANTEED,
    QosClass.BURSTABLE: GpuClass.BEST_EFFORT,
    QosClass.BE: GpuClass.BEST_EFFORT,
}


def gpu_class_for(qos: QosClass) -> GpuClass:
    """The power class of a workload's QoS class: latency-sensitive work is protected."""
    return _CLASS_OF_QOS[qos]


@dataclass(frozen=True)
class SiteCap:
    """One site behind one power connection."""

    site_id: str
    power_cap_mw: float

    def __post_init__(self) -> None:
        if not self.power_cap_mw > 0.0:
            raise ConfigError(f"site {self.site_id}: power cap must be positive, got {self.power_cap_mw} MW")


@dataclass(frozen=True)
class AsicGroup:
    """`count` ASICs of one model, e.g. one container or one site collector's devices.

    `current` is either one power state for the whole group or the number of devices in each state (summing to
    `count`); the optimiser uses it only to keep devices where they are when it can.
    """

    group_id: str
    model: AsicModel
    count: int
    current: PowerState | Mapping[PowerState, int] = PowerState.NORMAL

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError(f"group {self.group_id}: count must not be negative, got {self.count}")
        if not isinstance(self.current, PowerState):
            total = sum(self.current.values())
            if total != self.count or min(self.current.values(), default=0) < 0:
                raise ConfigError(f"group {self.group_id}: state counts {dict(self.current)} must sum to {self.count}")

    def state_counts(self) -> dict[PowerState, int]:
        """Devices in each power state now."""
        if isinstance(self.current, PowerState):
            return {state: (self.count if state is self.current else 0) for state in PowerState}
        return {state: int(self.current.get(state, 0)) for state in PowerState}


@dataclass(frozen=True)
class GpuDemand:
    """`gpus` GPUs of one type wanted by work of one class, worth `value_usd_per_gpu_hour` (from the rate card).

    `cooling_factor` scales the board power to the power the site draws per GPU (host, network and cooling).
    """

    demand_id: str
    gpu_class: GpuClass
    gpu_type: GpuModel
    gpus: int
    value_usd_per_gpu_hour: float
    cooling_factor: float = 1.3

    def __post_init__(self) -> None:
        if self.gpus < 0:
            raise ConfigError(f"demand {self.demand_id}: gpus must not be negative, got {self.gpus}")
        if self.cooling_factor < 1.0:
            raise ConfigError(f"demand {self.demand_id}: cooling factor must be at least 1, got {self.cooling_factor}")

    @property
    def mw_per_gpu(self) -> float:
        return self.gpu_type.power_w * self.cooling_factor / 1e6


@dataclass(frozen=True)
class Market:
    """The prices one allocation is made at: the energy price estimate for the interval and the settled hashprice."""

    energy_price_usd_mwh: float
    hashprice_usd_ph_day: float
