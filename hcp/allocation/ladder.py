"""The power-state ladder of an ASIC: its states on the upper convex hull of (power, hashrate), lowest power first.

Moving one device one rung up the ladder is one knapsack item. Greedy by value density is exact only if each
rung's extra hashrate per extra watt is no more than the rung below's (concavity). With the factors in
`hcp.economics.POWER_STATE_PROFILES` every state is on the hull (extra TH per extra W: 1.19, 0.75, 0.60 of the
nameplate ratio); a profile set that breaks concavity loses its states below the hull, which is exactly what the
LP relaxation does (a state below the hull is beaten by a mix of its neighbours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hcp.economics import POWER_STATE_PROFILES, PowerState, PowerStateProfile

FloatArray = npt.NDArray[np.float64]

STATE_ORDER: tuple[PowerState, ...] = tuple(PowerState)
"""Column order of every per-state array in this package."""


@dataclass(frozen=True)
class StateLadder:
    """Hull states with their factors; `skipped` lists the states below the hull, never allocated."""

    states: tuple[PowerState, ...]
    hashrate_factors: tuple[float, ...]
    power_factors: tuple[float, ...]
    skipped: tuple[PowerState, ...]
    all_power_factors: tuple[tuple[PowerState, float], ...]

    @property
    def rungs(self) -> int:
        """Number of steps above the base state."""
        return len(self.states) - 1

    def step_power(self) -> FloatArray:
        """Extra power factor of each rung."""
        return np.diff(np.asarray(self.power_factors))

    def step_hashrate(self) -> FloatArray:
        """Extra hashrate factor of each rung."""
        return np.diff(np.asarray(self.hashrate_factors))

    def rung_of(self, state: PowerState) -> int:
        """The rung of a device in `state`: its own, or for a skipped state the highest hull state drawing no more
        power (the base state when none does)."""
        if state in self.states:
            return self.states.index(state)
        power = dict(self.all_power_factors).get(state, 0.0)
        return max((rung for rung, hull in enumerate(self.power_factors) if hull <= power), default=0)


def build_ladder(profiles: Mapping[PowerState, PowerStateProfile] = POWER_STATE_PROFILES) -> StateLadder:
    """The upper concave hull of the states' (power factor, hashrate factor) points, from the lowest-power state.

    A state lying below the segment joining its neighbours on the hull is skipped, and so is a state drawing the
    same power as another for less hashrate.
    """
    points = sorted(profiles.items(), key=lambda item: (item[1].power_factor, -item[1].hashrate_factor))
    hull: list[tuple[PowerState, PowerStateProfile]] = []
    for state, profile in points:
        if hull and profile.power_factor == hull[-1][1].power_factor:
            continue
        while len(hull) >= 2 and _slope(hull[-2][1], hull[-1][1]) < _slope(hull[-1][1], profile):
            hull.pop()
        hull.append((state, profile))
    kept = {state for state, _ in hull}
    return StateLadder(
        states=tuple(state for state, _ in hull),
        hashrate_factors=tuple(profile.hashrate_factor for _, profile in hull),
        power_factors=tuple(profile.power_factor for _, profile in hull),
        skipped=tuple(state for state in STATE_ORDER if state in profiles and state not in kept),
        all_power_factors=tuple((state, profile.power_factor) for state, profile in profiles.items()),
    )


def _slope(low: PowerStateProfile, high: PowerStateProfile) -> float:
    return (high.hashrate_factor - low.hashrate_factor) / (high.power_factor - low.power_factor)
