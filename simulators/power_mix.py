"""Which devices take which power state when a site controller is told only how many devices of a model go in
each state (`set_power_mix`): a pure function on state indices in device order."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def assign_power_mix(current: IntArray, wanted: IntArray) -> IntArray:
    """New state index of every device, given each device's `current` state index (in device order) and the
    `wanted` number of devices per state index (summing to the number of devices).

    As few devices as possible move: in each state, the first (lowest-numbered) devices already there stay, up to
    the wanted count. The devices that must move fill the states still short, highest state first, in device order
    (so higher states go to lower device numbers). Raises `ValueError` when the counts do not add up.
    """
    current = np.asarray(current, dtype=np.int64)
    wanted = np.asarray(wanted, dtype=np.int64)
    if wanted.min(initial=0) < 0 or int(wanted.sum()) != len(current):
        raise ValueError(f"state counts {wanted.tolist()} do not add up to the {len(current)} devices")
    assigned = np.full(len(current), -1, dtype=np.int64)
    for state, count in enumerate(wanted.tolist()):
        staying = np.flatnonzero(current == state)[:count]
        assigned[staying] = state
    short = wanted - np.bincount(assigned[assigned >= 0], minlength=len(wanted))
    states_high_first = np.arange(len(wanted))[::-1]
    assigned[assigned < 0] = np.repeat(states_high_first, short[::-1])
    return assigned
