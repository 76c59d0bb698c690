"""`hcp dbt-docs`: generate the warehouse's dbt documentation and print where to open it (or serve it)."""

from __future__ import annotations

import contextlib
import functools
import http.server
from typing import Annotated

import typer
from rich.console import Console

from hcp.cli.context import storage_settings
from hcp.cli.options import HomeOption
from hcp.exceptions import ConfigError
from hcp.settings import WarehouseSettings, load_settings

console = Console()


def dbt_docs(
    home: HomeOption = None,
    serve: Annotated[bool, typer.Option("--serve", help="Serve the docs over HTTP after generating them.")] = False,
    port: Annotated[
        int, typer.Option("--port", min=1024, max=65535, envvar="HCP_DBT_DOCS_PORT", help="Port for --serve.")
    ] = 8580,
) -> None:
    """Run `dbt docs generate` against the warehouse: every model's grain, columns, tests and lineage.

    Prints the path of a self-contained page to open in a browser; with --serve, also serves it on 127.0.0.1.
    """
    from warehouse.dbt_docs import generate_docs

    storage = storage_settings(home)
    if not storage.warehouse_path.is_file():
        raise ConfigError(f"no warehouse at {storage.warehouse_path}: run `hcp demo` or `hcp flows run warehouse`")
    page = generate_docs(load_settings(WarehouseSettings).dbt_project_dir, storage.warehouse_path)
    console.print(f"dbt docs: open [bold]{page}[/] in a browser")
    if serve:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(page.parent))
        with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
            console.print(f"serving on http://127.0.0.1:{port}/{page.name} (Ctrl-C stops)")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()


def register(app: typer.Typer) -> None:
    app.command("dbt-docs")(dbt_docs)
