"""The `hcp` command line: every runnable of the platform, reachable from one place."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from hcp.cli import alerts, backtest, broker, deadletters, demo, doctor, flows, records, route_replay, simulate, worker
from hcp.cli import backfill as backfill_cli
from hcp.cli import dbt_docs as dbt_docs_cli
from hcp.cli import models as models_cli
from hcp.cli import quality as quality_cli
from hcp.cli import reports as reports_cli
from hcp.cli import serve as serve_cli
from hcp.cli import status as status_cli
from hcp.cli import supervise as supervise_cli
from hcp.exceptions import HcpError

app = typer.Typer(
    name="hcp",
    help="HCP, the hybrid compute platform: ASIC mining and AI GPUs behind one power connection.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
for module in (broker, simulate, worker, flows, demo, records, backtest, route_replay, deadletters, alerts, models_cli,
               supervise_cli, status_cli, doctor, quality_cli, reports_cli, serve_cli, backfill_cli, dbt_docs_cli):
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
