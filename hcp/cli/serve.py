"""`hcp serve`: a local Prefect server (API and UI) serving every scheduled deployment of the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hcp.cli.context import storage_settings, use_local_prefect_home
from hcp.cli.options import FleetOption, HomeOption
from hcp.prefect_server import ServeSettings, start_prefect_server
from hcp.settings import FleetSettings, StorageSettings, load_settings

console = Console()


def serve(
    home: HomeOption = None,
    fleet: FleetOption = None,
    host: Annotated[
        str | None, typer.Option("--host", envvar="HCP_SERVE_HOST", help="Address to bind (default 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", envvar="HCP_SERVE_PORT", help="Port of the Prefect UI and API (4200).")
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            envvar="HCP_SERVE_API_URL",
            help="Serve to this running Prefect API (http://host:port/api) instead of starting a server.",
        ),
    ] = None,
) -> None:
    """Start a Prefect server (UI included, state under <home>/prefect) and serve the deployments: warehouse,
    quality gate, billing, daily report and training run on their cron schedules, and anyone can run them from
    the UI. Ctrl-C stops serving and the server."""
    storage = storage_settings(home)
    settings = load_settings(ServeSettings, host=host, port=port)
    use_local_prefect_home(storage)
    fleet_file = fleet or load_settings(FleetSettings).file
    if api_url:
        serve_deployments(storage, fleet_file, api_url)
        return
    server = start_prefect_server(storage.home / "prefect", storage.run_dir / "prefect-server.log", settings)
    try:
        console.print(f"Prefect UI: [bold]{server.ui_url}[/] (API {server.api_url}, log {server.log_file})")
        serve_deployments(storage, fleet_file, server.api_url)
    finally:
        server.stop()


def serve_deployments(storage: StorageSettings, fleet_file: Path | None, api_url: str) -> None:
    """Register every deployment with the API at `api_url` and run their flow runs until interrupted."""
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.deployments import deployment_specs, runner_deployments

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        deployments = runner_deployments(deployment_specs(storage, fleet_file))
        console.print("serving: " + ", ".join(d.name for d in deployments), highlight=False)
        prefect_serve(*deployments, print_starting_message=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
