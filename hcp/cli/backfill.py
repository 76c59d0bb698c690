"""`hcp backfill`: recompute the hourly site energy, device telemetry and GPU usage marts with Apache Beam."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hcp.cli.options import FleetOption, HomeOption
from hcp.exceptions import ConfigError
from hcp.fleet import load_fleet
from hcp.settings import StorageSettings

console = Console()


def day_start(value: str, flag: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError as err:
        raise ConfigError(f"{flag} {value!r} is not a date: give it as YYYY-MM-DD (UTC)") from err


def backfill(
    start: Annotated[str, typer.Option("--from", help="First day to recompute, YYYY-MM-DD (UTC), inclusive.")],
    end: Annotated[str, typer.Option("--to", help="Day after the last one, YYYY-MM-DD (UTC), exclusive.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder for the *_hourly-*.parquet files; default HOME/backfill/FROM_TO."),
    ] = None,
    runner: Annotated[
        str,
        typer.Option(
            "--runner",
            envvar="HCP_BACKFILL_RUNNER",
            help="Beam runner: DirectRunner here; FlinkRunner, SparkRunner or DataflowRunner (docs/backfill.md).",
        ),
    ] = "DirectRunner",
    home: HomeOption = None,
    fleet_file: FleetOption = None,
    beam_args: Annotated[
        list[str] | None,
        typer.Argument(help="More Beam pipeline options after `--`, e.g. -- --flink_master=host:8081."),
    ] = None,
) -> None:
    """Recompute the hourly site energy, device telemetry and GPU usage marts for [--from, --to) from landing files."""
    from backfill.pipeline import run_backfill  # Beam takes seconds to import: only when this command runs

    first, last = day_start(start, "--from"), day_start(end, "--to")
    if last <= first:
        raise ConfigError(f"--to {end} must be after --from {start}")
    storage = StorageSettings(home=home) if home else StorageSettings()
    out_dir = out or storage.home / "backfill" / f"{start}_{end}"
    with console.status(f"running the Beam pipeline on the {runner}..."):
        options = [f"--runner={runner}", *(beam_args or [])]
        run_backfill(storage.landing_dir, load_fleet(fleet_file), first, last, out_dir, options)
    files = sorted(out_dir.glob("*_hourly-*.parquet"))
    console.print(f"wrote {len(files)} file(s) to {out_dir}")


def register(app: typer.Typer) -> None:
    app.command("backfill")(backfill)
