"""`hcp broker` and `hcp topics`: the embedded broker and the contract topics."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console
from rich.table import Table

from hcp.broker import admin_client, ensure_topics, start_embedded_broker
from hcp.cli.context import broker_settings, storage_settings
from hcp.cli.options import BootstrapOption, HomeOption, PortOption
from hcp.observability.endpoint import start_probe_endpoint
from hcp.observability.settings import MetricsSettings
from hcp.settings import load_settings
from hcp.topics import TOPICS

console = Console()
topics_app = typer.Typer(help="Create and list the contract topics.", no_args_is_help=True)


def run_broker(port: PortOption = None, home: HomeOption = None) -> None:
    """Run the embedded Kafka-protocol broker (tansu) and create the topics; stop it with Ctrl-C.

    It keeps messages in memory only: stopping it loses them (landed files and the warehouse keep history).
    """
    settings = broker_settings(port=port)
    storage = storage_settings(home)
    storage.run_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_embedded_broker(settings, log_file=storage.run_dir / "broker.log") as broker:
        created = ensure_topics(settings)
        console.print(f"broker listening on [bold]{settings.servers}[/]; created {len(created)} topics")
        health = start_probe_endpoint(settings, load_settings(MetricsSettings), "broker")
        try:
            while not stop.wait(0.5):
                if broker.process.poll() is not None:
                    raise typer.Exit(broker.process.returncode or 1)
        except KeyboardInterrupt:
            pass
        finally:
            if health is not None:
                health.stop()
    console.print("broker stopped")


@topics_app.command("create")
def create_topics(port: PortOption = None, bootstrap_servers: BootstrapOption = None) -> None:
    """Create every contract topic that is missing, with its partition count."""
    created = ensure_topics(broker_settings(port, bootstrap_servers))
    console.print(f"created: {', '.join(created) or 'nothing (all topics exist)'}")


@topics_app.command("list")
def list_topics(port: PortOption = None, bootstrap_servers: BootstrapOption = None) -> None:
    """List the contract topics with their partitions, key and record class, and whether they exist."""
    settings = broker_settings(port, bootstrap_servers)
    existing = admin_client(settings).list_topics(timeout=10).topics
    table = Table("topic", "partitions", "key", "record", "exists")
    for spec in TOPICS.values():
        found = existing.get(spec.name)
        partitions = str(len(found.partitions)) if found else str(spec.partitions)
        record = spec.record.__name__ if spec.record else "raw bytes + headers"
        table.add_row(spec.name, partitions, spec.key, record, "yes" if found else "no")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("broker")(run_broker)
    app.add_typer(topics_app, name="topics")
