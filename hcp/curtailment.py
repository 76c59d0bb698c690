"""The first, simple curtailment rule: run a model when the energy price is at or below its breakeven.

Pure: the live agent and any replay call `decide_power_state` with the same inputs and get the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from hcp.economics import AsicModel, PowerState, breakeven_usd_per_mwh


@dataclass(frozen=True)
class PowerStateDecision:
    """The state a model's miners should be in, with the numbers behind it."""

    model: str
    power_state: PowerState
    energy_price_usd_mwh: float
    hashprice_usd_ph_day: float
    breakeven_usd_mwh: float
    reason: str


def decide_power_state(model: AsicModel, energy_price: float, hashprice: float) -> PowerStateDecision:
    """Curtail (sleep) when the last known energy price is above the model's breakeven, else run normally."""
    breakeven = breakeven_usd_per_mwh(hashprice, model.joules_per_th(PowerState.NORMAL))
    if energy_price > breakeven:
        state = PowerState.SLEEP
        reason = f"energy price {energy_price:.2f} USD/MWh above breakeven {breakeven:.2f}: curtail"
    else:
        state = PowerState.NORMAL
        reason = f"energy price {energy_price:.2f} USD/MWh at or below breakeven {breakeven:.2f}: mine"
    return PowerStateDecision(
        model=model.name,
        power_state=state,
        energy_price_usd_mwh=energy_price,
        hashprice_usd_ph_day=hashprice,
        breakeven_usd_mwh=breakeven,
        reason=reason,
    )
