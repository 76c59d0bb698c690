"""`hcp flows run report` (the daily report) and `hcp report screenshots` (the PNGs in docs/images)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hcp.cli.context import storage_settings, use_local_prefect_home
from hcp.cli.options import HomeOption
from hcp.exceptions import ConfigError

console = Console()
report_app = typer.Typer(help="Reports and their screenshots.", no_args_is_help=True)

DayOption = Annotated[
    str | None,
    typer.Option(
        "--day", envvar="HCP_REPORT_DAY", help="Day to report, YYYY-MM-DD (UTC); default: latest complete day."
    ),
]


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as err:
        raise ConfigError(f"--day {value!r} is not a date: give YYYY-MM-DD") from err


def run_report(day: DayOption = None, home: HomeOption = None) -> None:
    """Write the daily operations and finance report (self-contained HTML) into <home>/reports."""
    storage = storage_settings(home)
    use_local_prefect_home(storage)
    from flows.reports import build_daily_report

    result = build_daily_report(
        warehouse_path=str(storage.warehouse_path), reports_dir=str(storage.reports_dir), day=_day(day)
    )
    empty = [key for key, has_data in result["sections"].items() if not has_data]
    if empty:
        console.print(f"sections without data: {', '.join(empty)}")
    console.print(f"daily report: [bold]{result['path']}[/]")


@report_app.command("screenshots")
def take_screenshots(
    out: Annotated[Path, typer.Option("--out", help="Folder the PNGs go to.")] = Path("docs/images"),
    day: DayOption = None,
    home: HomeOption = None,
) -> None:
    """Take the documentation screenshots from a storage home that holds a built warehouse (after `hcp demo`):
    the daily report, and the Prefect UI with scheduled and completed runs (on a temporary server and a copy of
    the warehouse, so the home is left as it was)."""
    from hcp.cli.screenshots import take_docs_screenshots

    storage = storage_settings(home)
    for path in take_docs_screenshots(storage, out, _day(day), progress=console.print):
        console.print(f"wrote [bold]{path}[/]")


def register(app: typer.Typer) -> None:
    from hcp.cli.flows import run_app

    run_app.command("report")(run_report)
    app.add_typer(report_app, name="report")
