"""The economics of one megawatt, as plain functions (see PRODUCT.md, 'Economics, in formulas').

Units: hashrate in TH/s, power in W, energy price in USD/MWh, hashprice in USD per PH/s per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PowerState(StrEnum):
    """ASIC power states, from off to overclocked."""

    SLEEP = "sleep"
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True)
class PowerStateProfile:
    """How a power state scales a model's nameplate hashrate and power."""

    hashrate_factor: float
    power_factor: float


# Underclocking trades hashrate for efficiency; overclocking the reverse. A sleeping miner keeps its
# control board powered (about 1 % of nameplate).
POWER_STATE_PROFILES: dict[PowerState, PowerStateProfile] = {
    PowerState.SLEEP: PowerStateProfile(hashrate_factor=0.0, power_factor=0.01),
    PowerState.LOW: PowerStateProfile(hashrate_factor=0.70, power_factor=0.60),
    PowerState.NORMAL: PowerStateProfile(hashrate_factor=1.0, power_factor=1.0),
    PowerState.HIGH: PowerStateProfile(hashrate_factor=1.15, power_factor=1.25),
}


@dataclass(frozen=True)
class AsicModel:
    """An ASIC model's nameplate figures at its normal power state."""

    name: str
    hashrate_th: float
    power_w: float

    def hashrate_at(self, state: PowerState) -> float:
        return self.hashrate_th * POWER_STATE_PROFILES[state].hashrate_factor

    def power_at(self, state: PowerState) -> float:
        return self.power_w * POWER_STATE_PROFILES[state].power_factor

    def joules_per_th(self, state: PowerState = PowerState.NORMAL) -> float:
        """Efficiency in J/TH; infinite for a state that hashes nothing."""
        hashrate = self.hashrate_at(state)
        return float("inf") if hashrate == 0 else self.power_at(state) / hashrate


@dataclass(frozen=True)
class GpuModel:
    """A GPU type's board power and memory."""

    name: str
    power_w: float
    memory_gib: float


ASIC_MODELS: dict[str, AsicModel] = {
    m.name: m
    for m in (
        AsicModel("S19j Pro", hashrate_th=100.0, power_w=2950.0),
        AsicModel("S19 XP", hashrate_th=140.0, power_w=3010.0),
        AsicModel("S21", hashrate_th=200.0, power_w=3500.0),
    )
}

GPU_MODELS: dict[str, GpuModel] = {
    m.name: m
    for m in (
        GpuModel("H100", power_w=700.0, memory_gib=80.0),
        GpuModel("A100", power_w=400.0, memory_gib=80.0),
        GpuModel("L40S", power_w=350.0, memory_gib=48.0),
    )
}


def hashprice_usd_per_ph_day(
    btc_price_usd: float, block_subsidy_btc: float, fees_per_block_btc: float, difficulty: float
) -> float:
    """What one PH/s earns in a day: price * (subsidy + fees) * 86400e15 / (difficulty * 2**32)."""
    return btc_price_usd * (block_subsidy_btc + fees_per_block_btc) * 86400e15 / (difficulty * 2**32)


def mining_revenue_usd_per_hour(hashrate_th: float, hashprice: float) -> float:
    """USD an hour earned by `hashrate_th` TH/s at `hashprice` USD per PH/s per day."""
    return hashrate_th / 1000.0 * hashprice / 24.0


def energy_cost_usd_per_hour(power_w: float, price_usd_per_mwh: float) -> float:
    """USD an hour for drawing `power_w` W at `price_usd_per_mwh`."""
    return power_w / 1e6 * price_usd_per_mwh


def breakeven_usd_per_mwh(hashprice: float, joules_per_th: float) -> float:
    """Strike price: the energy price above which hashing at this efficiency loses money."""
    return hashprice * 1000.0 / (24.0 * joules_per_th)


def energy_mwh(power_w: float, seconds: float) -> float:
    """Energy drawn at `power_w` for `seconds`, in MWh."""
    return power_w * seconds / 3.6e9
