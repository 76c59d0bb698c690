"""`hcp status`: a live terminal view of sites, power, fleet, prices, decisions, the job queue and alerts."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from hcp.cli.context import broker_settings, fleet_from
from hcp.cli.options import BootstrapOption, FleetOption, PortOption


def status(
    once: Annotated[bool, typer.Option("--once", help="Draw one frame from what the topics hold, then exit.")] = False,
    refresh: Annotated[
        float, typer.Option(envvar="HCP_STATUS_REFRESH_S", min=0.2, max=60, help="Seconds between frames.")
    ] = 1.0,
    width: Annotated[
        int | None, typer.Option(envvar="HCP_STATUS_WIDTH", min=60, max=400, help="Columns (default: the terminal).")
    ] = None,
    fleet: FleetOption = None,
    port: PortOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Watch the platform live from its topics (the embedded broker, or the cluster the settings name)."""
    from hcp.status import StatusBoard, render_board
    from hcp.status.reader import TopicReader

    broker = broker_settings(port, bootstrap_servers)
    board = StatusBoard(fleet_from(fleet))
    console = Console(width=width)
    reader = TopicReader(broker)
    source = f"broker {broker.servers}"
    try:
        for record in sorted(reader.read_available(), key=lambda r: r.event_time):
            board.apply(record)
        if once:
            console.print(render_board(board, source))
            return
        with Live(render_board(board, source), console=console, refresh_per_second=4, screen=False) as live:
            while True:
                for record in reader.read_available(idle_s=refresh):
                    board.apply(record)
                live.update(render_board(board, source))
                time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()


def register(app: typer.Typer) -> None:
    app.command("status")(status)
