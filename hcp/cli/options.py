"""Options shared by several commands. Each names the environment variable it falls back to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", envvar="HCP_STORAGE_HOME", help="Folder for landing files, warehouse and run state."),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", envvar="HCP_BROKER_EMBEDDED_PORT", help="Port of the embedded broker."),
]
BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        envvar="HCP_BROKER_BOOTSTRAP_SERVERS",
        help="External Kafka cluster (host:port,...); unset uses the embedded broker.",
    ),
]
FleetOption = Annotated[
    Path | None,
    typer.Option("--fleet", envvar="HCP_FLEET_FILE", help="Fleet YAML; unset uses the built-in demo fleet."),
]
