"""Simulated time: a clock that maps wall time to simulated time, and the fixed grid the simulators step on.

Events are generated on the simulated grid (`simulation_steps`), never from wall readings, so the same seed gives
the same events at any speed; the clock only paces how fast the grid is walked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from hcp.exceptions import ConfigError


class SimulationClock:
    """Simulated time that runs `speed` times faster than wall time from `start`, starting now."""

    def __init__(self, start: datetime, speed: float, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ConfigError("the simulation start must be timezone-aware")
        if speed <= 0:
            raise ConfigError(f"the simulation speed must be positive, got {speed}")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> datetime:
        """The simulated time that corresponds to this wall instant."""
        return self.start + timedelta(seconds=(self._monotonic() - self._origin) * self.speed)

    def wall_seconds_until(self, sim_time: datetime) -> float:
        """Wall seconds to wait until `sim_time` is reached; 0 when it is already past."""
        return max(0.0, (sim_time - self.now()).total_seconds() / self.speed)


def count_steps(hours: float, step_s: float) -> int:
    """Number of steps of `step_s` simulated seconds in `hours` (a partial last step counts)."""
    return math.ceil(hours * 3600 / step_s - 1e-9)


def simulation_steps(start: datetime, hours: float, step_s: float) -> Iterator[datetime]:
    """The simulated grid `start, start + step, ...`, every instant before `start + hours`."""
    step = timedelta(seconds=step_s)
    for index in range(count_steps(hours, step_s)):
        yield start + index * step
