"""`hcp schemas`, `hcp sql` and `hcp ledger`: contracts, warehouse queries and the end-to-end ledger check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.cli.context import storage_settings
from hcp.cli.options import HomeOption
from hcp.contracts import render_topics_markdown, write_json_schemas
from hcp.exceptions import ConfigError
from hcp.settings import REPO_ROOT

console = Console()
# `hcp sql` connections: no file-system access (COPY, ATTACH, read_csv, INSTALL) and no way to turn it back on.
READ_ONLY_SQL_CONFIG = {"enable_external_access": False, "lock_configuration": True}
schemas_app = typer.Typer(help="The topic contracts as JSON Schema and Markdown.", no_args_is_help=True)


@schemas_app.command("export")
def export_schemas(
    out: Annotated[Path, typer.Option(help="Folder for the JSON Schema files.")] = REPO_ROOT / "schemas",
    docs: Annotated[Path, typer.Option(help="Where to write the topic reference.")] = REPO_ROOT
    / "docs"
    / "topics.md",
) -> None:
    """Write one JSON Schema file per topic and the topic reference (docs/topics.md)."""
    written = write_json_schemas(out)
    docs.parent.mkdir(parents=True, exist_ok=True)
    docs.write_text(render_topics_markdown())
    console.print(f"wrote {len(written)} schemas to {out} and {docs}")


def sql(
    query: Annotated[str, typer.Argument(help="SQL to run read-only, e.g. \"select * from fct_decisions\".")],
    home: HomeOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show at most.")] = 50,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Value of the next `?` placeholder in the query (repeat for each)."),
    ] = None,
) -> None:
    """Run a read-only SQL query on the DuckDB warehouse and print the result.

    The file is opened read-only with file-system access off and the configuration locked: writes, COPY, ATTACH,
    reading other files and installing extensions are refused. Pass values with `--param`, never by pasting them
    into the query.
    """
    import duckdb

    path = storage_settings(home).warehouse_path
    if not path.exists():
        raise ConfigError(f"no warehouse at {path}: run `hcp demo` or `hcp flows run warehouse` first")
    with duckdb.connect(str(path), read_only=True, config=READ_ONLY_SQL_CONFIG) as con:
        try:
            relation = con.sql(query, params=param or None)
        except duckdb.Error as err:
            raise ConfigError(f"query failed: {err}") from err
        if relation is None:
            return
        table = Table(*relation.columns)
        for row in relation.limit(limit).fetchall():
            table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def check_ledger_command(
    ledger: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Ledger file (.jsonl) of a run.")],
    home: HomeOption = None,
    warehouse: Annotated[
        bool, typer.Option("--warehouse", help="Also check the warehouse: raw tables and deduplicated staging views.")
    ] = False,
) -> None:
    """Compare a simulation's ledger with the landed files (and the warehouse): lost, duplicated, altered events."""
    from hcp.ledger import check_ledger, read_ledger

    storage = storage_settings(home)
    produced = read_ledger(ledger)
    reports = {"landing files": check_ledger(produced, storage.landing_dir)}
    if warehouse:
        from hcp.reconciliation import check_ledger_warehouse

        found = check_ledger_warehouse(produced, storage.warehouse_path)
        reports |= {"warehouse raw.*": found.raw, "warehouse staging": found.staged}
    failed = False
    for where, report in reports.items():
        table = Table("topic", "produced", "found", "lost", "duplicated", "altered", title=where)
        for topic, counts in report.by_topic.items():
            table.add_row(topic, *(f"{counts[k]:,}" for k in ("produced", "landed", "lost", "duplicated", "altered")))
        console.print(table)
        if not report.ok:
            failed = True
            console.print(
                f"[red]ledger check failed in {where}[/]: lost {report.lost}, duplicated {report.duplicated},"
                f" altered {report.altered}"
            )
    if failed:
        raise typer.Exit(1)
    console.print(f"[green]ledger check passed[/]: every produced event found exactly once in {', '.join(reports)}")


def register(app: typer.Typer) -> None:
    app.add_typer(schemas_app, name="schemas")
    app.command("sql")(sql)
    app.command("ledger-check")(check_ledger_command)
