import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hcp.exceptions import ConfigError
from simulators.clock import SimulationClock, count_steps, simulation_steps

START = datetime(2023, 1, 16, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_clock_runs_speed_times_faster_than_wall_time():
    wall = FakeMonotonic()
    clock = SimulationClock(START, 600.0, monotonic=wall)
    assert clock.now() == START
    wall.value += 2.0
    assert clock.now() == START + timedelta(minutes=20)


def test_wall_seconds_until_is_scaled_and_never_negative():
    wall = FakeMonotonic()
    clock = SimulationClock(START, 60.0, monotonic=wall)
    assert clock.wall_seconds_until(START + timedelta(minutes=2)) == pytest.approx(2.0)
    wall.value += 10.0
    assert clock.wall_seconds_until(START + timedelta(minutes=2)) == 0.0


def test_naive_start_is_rejected():
    with pytest.raises(ConfigError):
        SimulationClock(datetime(2023, 1, 16), 10.0)


def test_steps_walk_a_fixed_grid_over_the_hours():
    steps = list(simulation_steps(START, 1.0, 60))
    assert len(steps) == 60 == count_steps(1.0, 60)
    assert steps[0] == START
    assert all(b - a == timedelta(seconds=60) for a, b in itertools.pairwise(steps))
    assert steps[-1] < START + timedelta(hours=1)


def test_a_partial_last_step_still_runs():
    assert count_steps(0.5, 1000) == 2
