"""`hcp doctor`: check the configuration in the environment and say exactly what is wrong."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor() -> None:
    """Check settings, broker, topics, storage home, fleet file, dbt project, Prefect, metrics ports and
    notification channels; exit 1 if any check fails."""
    from hcp.doctor import run_checks

    results = run_checks()
    table = Table("check", "status", "detail", expand=True)
    for result in results:
        table.add_row(result.name, f"[{STYLE[result.status]}]{result.status}[/]", result.detail)
    console = Console()
    console.print(table)
    failed = [r for r in results if r.status == "fail"]
    if failed:
        console.print(f"[bold red]{len(failed)} problem(s)[/]: fix the settings named above and run `hcp doctor` again")
        raise typer.Exit(1)
    console.print("[green]configuration OK[/]")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
