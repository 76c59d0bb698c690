"""Vectorised margin arithmetic for whole months of intervals (numpy arrays, one element per interval).

The margin of an interval is `run_fraction * count * (hashrate_th/1000 * hashprice * hours/24
- power_w/1e6 * price * hours)`, in USD.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def compute_breakevens(hashprice: FloatArray, joules_per_th: float) -> FloatArray:
    """Breakeven energy prices in USD/MWh (see `hcp.economics.breakeven_usd_per_mwh`)."""
    return np.asarray(hashprice, dtype=np.float64) * 1000.0 / (24.0 * joules_per_th)


def compute_full_margins(
    count: int, hashrate_th: float, power_w: float, hashprice: FloatArray, price: FloatArray, hours: float
) -> FloatArray:
    """USD earned in each interval with the whole fleet running."""
    revenue = hashrate_th / 1000.0 * np.asarray(hashprice, dtype=np.float64) * hours / 24.0
    cost = power_w / 1e6 * np.asarray(price, dtype=np.float64) * hours
    return count * (revenue - cost)


def sum_value(run_fractions: FloatArray, full_margins: FloatArray) -> float:
    """USD earned over all intervals when each runs `run_fractions` of the fleet."""
    return float(np.dot(np.asarray(run_fractions, dtype=np.float64), full_margins))


def hindsight_fractions(full_margins: FloatArray) -> FloatArray:
    """The perfect-foresight schedule: run exactly when the interval's margin is positive."""
    return (np.asarray(full_margins) > 0.0).astype(np.float64)


def share_of_optimal(policy_usd: float, hindsight_usd: float) -> float | None:
    """policy / hindsight; None when hindsight earns nothing."""
    return None if hindsight_usd == 0.0 else policy_usd / hindsight_usd


def share_of_gain(policy_usd: float, always_on_usd: float, hindsight_usd: float) -> float | None:
    """(policy - always-on) / (hindsight - always-on); None when no interval loses money (nothing to gain)."""
    gain = hindsight_usd - always_on_usd
    return None if gain == 0.0 else (policy_usd - always_on_usd) / gain
