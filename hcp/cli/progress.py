"""Progress display for long runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from hcp.settings import SimulatorSettings


@contextmanager
def simulation_progress(console: Console, sim: SimulatorSettings) -> Iterator[Callable[[datetime, int], None]]:
    """A progress bar over simulated time; yields the callback the simulation runner calls."""
    total = sim.hours * 3600
    with Progress(
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        TextColumn("{task.fields[sim_time]}"),
        TextColumn("{task.fields[events]:>10,} events"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("sim", total=total, sim_time="", events=0)

        def on_progress(now: datetime, events: int) -> None:
            done = min((now - sim.start) / timedelta(seconds=1), total)
            progress.update(task, completed=done, sim_time=f"{now:%Y-%m-%d %H:%M}", events=events)

        yield on_progress
