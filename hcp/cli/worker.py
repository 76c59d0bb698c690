"""`hcp worker`: the Faust stream worker (landing, fleet table, prices and curtailment decisions)."""

from __future__ import annotations

from typing import Annotated

import typer

from hcp.cli.context import broker_settings, fleet_from, storage_settings
from hcp.cli.options import BootstrapOption, FleetOption, HomeOption, PortOption
from hcp.settings import WorkerSettings, load_settings


def worker(
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", help="crit, error, warn, info or debug.")
    ] = "warn",
    role: Annotated[
        str | None,
        typer.Option(envvar="HCP_WORKER_ROLE", help="all; ingest (landing, fleet); control (site controller)."),
    ] = None,
    fleet: FleetOption = None,
    home: HomeOption = None,
    port: PortOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Run a Faust worker on the topics until SIGTERM or Ctrl-C (more workers share the partitions)."""
    from streams.worker import run_worker

    run_worker(
        load_settings(WorkerSettings, role=role),
        broker_settings(port, bootstrap_servers),
        storage_settings(home),
        fleet_from(fleet),
        loglevel=loglevel,
    )


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
