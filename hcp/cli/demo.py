"""`hcp demo`: the whole platform on embedded defaults, one simulated day, then the warehouse and a summary."""

from __future__ import annotations

import contextlib
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hcp.broker import ensure_topics, start_embedded_broker
from hcp.cli.context import broker_settings, fleet_from, storage_settings, use_local_prefect_home
from hcp.cli.demo_models import clear_forecasts, ensure_classifier, publish_demo_forecasts
from hcp.cli.options import FleetOption, HomeOption, PortOption
from hcp.cli.progress import simulation_progress
from hcp.cli.summary import print_demo_summary
from hcp.exceptions import HcpError
from hcp.notify.process import start_notifier_process
from hcp.processes import (
    process_environment,
    start_worker_process,
    stop_process,
    wait_until_caught_up,
    wait_until_group_stable,
)
from hcp.settings import FleetSettings, SimulatorSettings, WorkerSettings, load_settings
from hcp.topics import MARKET_PRICES, WORKLOAD_REQUESTS

console = Console()
CONTROL_TOPICS = (MARKET_PRICES, WORKLOAD_REQUESTS)


def demo(
    hours: Annotated[float | None, typer.Option(envvar="HCP_SIM_HOURS", help="Simulated hours.")] = None,
    speed: Annotated[
        float | None, typer.Option(envvar="HCP_SIM_SPEED", help="Simulated seconds per wall second.")
    ] = None,
    seed: Annotated[int | None, typer.Option(envvar="HCP_SIM_SEED", help="Random seed.")] = None,
    fleet: FleetOption = None,
    home: HomeOption = None,
    port: PortOption = None,
) -> None:
    """Start the embedded broker, a Faust worker and the simulators; run a simulated day; build the warehouse.

    Ends with a summary and the path of the DuckDB file. Everything runs on this machine.
    """
    from flows.warehouse import build_warehouse
    from simulators.faults import FaultSettings, scheduled_faults
    from simulators.runner import run_simulation

    sim = load_settings(SimulatorSettings, hours=hours, speed=speed, seed=seed)
    broker = broker_settings(port)
    storage = storage_settings(home)
    fleet_file = fleet or load_settings(FleetSettings).file
    fleet_config = fleet_from(fleet_file)
    worker_settings = load_settings(WorkerSettings)
    faults = scheduled_faults(load_settings(FaultSettings))
    # Always from a clean slate: the embedded broker starts empty, its offsets restart at 0, and landing files of
    # an earlier run would make the landing writer skip those offsets as already landed.
    for path in (storage.landing_dir, storage.ledger_dir, storage.run_dir, storage.warehouse_path):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    storage.run_dir.mkdir(parents=True, exist_ok=True)
    use_local_prefect_home(storage)
    started = time.monotonic()
    clear_forecasts(storage)
    ensure_classifier(storage, console)  # before the workers: the control worker loads it at start
    run_id = f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}"

    console.rule("[bold]1. broker, topics and worker")
    embedded = start_embedded_broker(broker, log_file=storage.run_dir / "broker.log") if broker.embedded else None
    with embedded or contextlib.nullcontext():
        ensure_topics(broker)
        env = process_environment(broker, storage, fleet_file)
        # Two workers: ingest (landing, fleet table) and control (prices and jobs to decisions), so that price
        # ticks never wait behind telemetry in one consumer.
        ingest = start_worker_process(env, storage.run_dir / "worker-ingest.log", role="ingest")
        control = start_worker_process(env, storage.run_dir / "worker-control.log", role="control")
        notifier = start_notifier_process(env, storage.run_dir / "notifier.log")
        ingest_group = worker_settings.model_copy(update={"role": "ingest"}).group_id
        control_group = worker_settings.model_copy(update={"role": "control"}).group_id
        where = "embedded broker" if broker.embedded else "external cluster"
        console.print(f"{where} on {broker.servers}; workers {ingest.pid} (ingest), {control.pid} (control)")
        try:
            waited = max(
                wait_until_group_stable(broker, ingest_group, ingest),
                wait_until_group_stable(broker, control_group, control),
            )
            console.print(f"workers joined their consumer groups in {waited:.1f} s")
            console.rule(f"[bold]2. simulating {sim.hours:g} h at {sim.speed:g}x")
            with simulation_progress(console, sim) as on_progress:
                simulation = run_simulation(
                    sim, broker, storage, fleet_config, run_id=run_id, on_progress=on_progress, faults=faults
                )
            console.print("waiting for the workers to land every message ...")
            wait_until_caught_up(broker, control_group, control, topics=list(CONTROL_TOPICS))
            wait_until_caught_up(broker, ingest_group, ingest)
        except HcpError:
            for log_name in ("worker-ingest.log", "worker-control.log"):
                console.print(f"[red]{log_name} tail:[/]\n{_tail(storage.run_dir / log_name)}")
            raise
        finally:
            stop_process(notifier)
            stop_process(control)
            stop_process(ingest)

    publish_demo_forecasts(storage, fleet_file, console)
    console.rule("[bold]3. warehouse flow (load, dbt build)")
    build_warehouse(
        landing_dir=str(storage.landing_dir),
        warehouse_path=str(storage.warehouse_path),
        fleet_file=str(fleet_file) if fleet_file else None,
    )
    console.rule("[bold]4. summary")
    print_demo_summary(console, storage, simulation, wall_seconds=time.monotonic() - started)


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
