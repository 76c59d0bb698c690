"""`hcp simulate`: the ASIC fleet, GPU fleet, market feed and workload generator, publishing to the topics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hcp.cli.context import broker_settings, fleet_from, storage_settings
from hcp.cli.options import BootstrapOption, FleetOption, HomeOption, PortOption
from hcp.cli.progress import simulation_progress
from hcp.observability.endpoint import start_probe_endpoint
from hcp.observability.settings import MetricsSettings
from hcp.settings import SimulatorSettings, load_settings

console = Console()


def _path(envvar: str, text: str) -> object:
    return typer.Option(envvar=envvar, help=text, exists=True, dir_okay=envvar.endswith("DIR"))


def simulate(
    hours: Annotated[float | None, typer.Option(envvar="HCP_SIM_HOURS", help="Simulated hours to run.")] = None,
    speed: Annotated[
        float | None, typer.Option(envvar="HCP_SIM_SPEED", help="Simulated seconds per wall second.")
    ] = None,
    seed: Annotated[int | None, typer.Option(envvar="HCP_SIM_SEED", help="Random seed.")] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            envvar="HCP_SIM_START",
            help="Simulated start time, UTC (e.g. 2023-01-16T00:00:00).",
            formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        ),
    ] = None,
    market_source: Annotated[
        str | None, typer.Option(envvar="HCP_SIM_MARKET_SOURCE", help="'synthetic' or 'replay'.")
    ] = None,
    rt_prices: Annotated[Path | None, _path("HCP_SIM_RT_PRICES_FILE", "ERCOT wide real-time CSV (replay).")] = None,
    da_prices: Annotated[Path | None, _path("HCP_SIM_DA_PRICES_FILE", "ERCOT wide day-ahead CSV (replay).")] = None,
    hashprice: Annotated[Path | None, _path("HCP_SIM_HASHPRICE_FILE", "Hashprice CSV (replay).")] = None,
    gpu_prices: Annotated[Path | None, _path("HCP_SIM_GPU_PRICES_DIR", "Folder of GPU price JSONL (replay).")] = None,
    arrivals: Annotated[
        Path | None, _path("HCP_SIM_WORKLOAD_ARRIVALS_FILE", "genai_requests CSV whose arrivals to replay.")
    ] = None,
    jobs_per_hour: Annotated[
        float | None, typer.Option(envvar="HCP_SIM_JOBS_PER_HOUR", help="Mean synthetic AI job arrivals.")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Name of this run's ledger file.")] = None,
    fleet: FleetOption = None,
    home: HomeOption = None,
    port: PortOption = None,
    bootstrap_servers: BootstrapOption = None,
) -> None:
    """Run the simulators against the broker (start it first with `hcp broker`)."""
    from simulators.faults import FaultSettings, scheduled_faults
    from simulators.runner import run_simulation

    sim = load_settings(
        SimulatorSettings,
        hours=hours,
        speed=speed,
        seed=seed,
        start=start.replace(tzinfo=UTC) if start else None,
        market_source=market_source,
        rt_prices_file=rt_prices,
        da_prices_file=da_prices,
        hashprice_file=hashprice,
        gpu_prices_dir=gpu_prices,
        workload_arrivals_file=arrivals,
        jobs_per_hour=jobs_per_hour,
    )
    run_id = run_id or f"sim-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    broker = broker_settings(port, bootstrap_servers)
    health = start_probe_endpoint(broker, load_settings(MetricsSettings), "simulator")
    try:
        with simulation_progress(console, sim) as on_progress:
            summary = run_simulation(
                sim,
                broker,
                storage_settings(home),
                fleet_from(fleet),
                run_id=run_id,
                on_progress=on_progress,
                faults=scheduled_faults(load_settings(FaultSettings)),
            )
    finally:
        if health is not None:
            health.stop()
    console.print(f"sent {sum(summary.events_by_topic.values()):,} events; ledger: {summary.ledger_path}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
