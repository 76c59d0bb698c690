"""The `hcp` command line: every runnable of the platform, reachable from one place."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from hcp.cli import backtest, broker, demo, flows, records, route_replay, simulate, worker
from hcp.exceptions import HcpError

app = typer.Typer(
    name="hcp",
    help="HCP, the hybrid compute platform: ASIC mining and AI GPUs behind one power connection.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
for module in (broker, simulate, worker, flows, demo, records, backtest, route_replay):
    module.register(app)

_stderr = Console(stderr=True)


def main() -> None:
    """Entry point of `hcp` and `python -m hcp`: platform errors print one clear line and exit with 2."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except HcpError as err:
        _stderr.print(f"[bold red]error:[/] {err}")
        raise SystemExit(2) from None
