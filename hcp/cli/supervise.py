"""`hcp supervise`: run the workers and carry them through crashes and broker restarts."""

from __future__ import annotations

from typing import Annotated

import typer

from hcp.cli.context import broker_settings, storage_settings
from hcp.cli.options import BootstrapOption, FleetOption, HomeOption, PortOption


def supervise(
    roles: Annotated[
        str,
        typer.Option(envvar="HCP_SUPERVISOR_ROLES", help="Worker roles to run: all, or ingest,control."),
    ] = "ingest,control",
    interval: Annotated[
        float, typer.Option(min=0.2, max=60, envvar="HCP_SUPERVISOR_INTERVAL_S", help="Seconds between two checks.")
    ] = 1.0,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="Workers' log level.")] = "warn",
    fleet: FleetOption = None,
    home: HomeOption = None,
    port: PortOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Start one worker per role; restart any that exits; after a broker restart, alert, recreate topics, resume.

    See docs/reliability.md. Stop with Ctrl-C (the workers stop with it).
    """
    import logging

    from hcp.processes import process_environment
    from hcp.supervisor import PlatformSupervisor

    logging.getLogger("hcp").setLevel(logging.INFO)
    broker = broker_settings(port, bootstrap_servers)
    storage = storage_settings(home)
    storage.run_dir.mkdir(parents=True, exist_ok=True)
    wanted = tuple(role.strip() for role in roles.split(",") if role.strip())
    unknown = set(wanted) - {"all", "ingest", "control"}
    if unknown or not wanted:
        raise typer.BadParameter(f"unknown role(s) {sorted(unknown)}: use all, or ingest,control", param_hint="--roles")
    supervisor = PlatformSupervisor(
        broker, process_environment(broker, storage, fleet), wanted, storage.run_dir, loglevel=loglevel
    )
    supervisor.start()
    try:
        supervisor.run(interval_s=interval)
    except KeyboardInterrupt:
        supervisor.stop()


def register(app: typer.Typer) -> None:
    app.command("supervise")(supervise)
