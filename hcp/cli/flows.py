"""`hcp flows`: run the Prefect flows from the command line (they also run from the Prefect UI)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from hcp.cli.billing import run_billing
from hcp.cli.context import storage_settings, use_local_prefect_home
from hcp.cli.options import FleetOption, HomeOption
from hcp.settings import FleetSettings, load_settings

console = Console()
flows_app = typer.Typer(help="Run the Prefect flows.", no_args_is_help=True)
run_app = typer.Typer(help="Run one flow now.", no_args_is_help=True)
flows_app.add_typer(run_app, name="run")
run_app.command("billing")(run_billing)


@run_app.command("warehouse")
def run_warehouse(home: HomeOption = None, fleet: FleetOption = None) -> None:
    """Load new landing files into DuckDB, then `dbt build`; print the row counts."""
    storage = storage_settings(home)
    use_local_prefect_home(storage)
    from flows.warehouse import build_warehouse

    fleet_file = fleet or load_settings(FleetSettings).file
    summary = build_warehouse(
        landing_dir=str(storage.landing_dir),
        warehouse_path=str(storage.warehouse_path),
        fleet_file=str(fleet_file) if fleet_file else None,
    )
    print_row_counts(summary.get("row_counts", {}))
    console.print(f"warehouse: [bold]{storage.warehouse_path}[/]")


def print_row_counts(row_counts: dict[str, int]) -> None:
    table = Table("table", "rows")
    for name, rows in sorted(row_counts.items()):
        table.add_row(name, f"{rows:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(flows_app, name="flows")
