"""Running the stream worker: table changelog topics first, then the faust worker until SIGTERM/SIGINT."""

from __future__ import annotations

import logging

import faust
from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic

from hcp.broker import admin_client
from hcp.exceptions import BrokerError
from hcp.fleet import Fleet
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from streams.app import create_app

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


def changelog_topics(app: faust.App) -> dict[str, int]:
    """Changelog topic name -> partition count, for every table of the app."""
    return {table.changelog_topic_name: table.partitions or app.conf.topic_partitions for table in app.tables.values()}


def ensure_changelog_topics(app: faust.App, broker: BrokerSettings, timeout: float = 15.0) -> list[str]:
    """Create the tables' compacted changelog topics that do not exist yet; return those created.

    The app runs with `topic_allow_declare=False` so that faust never creates a contract topic with the wrong
    partition count; the changelogs are its own, so they are created here with the tables' partition counts.
    """
    admin = admin_client(broker)
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as err:
        raise BrokerError(f"cannot reach the broker at {broker.servers}: {err}") from err
    missing = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=broker.replication_factor,
            config={"cleanup.policy": "compact"},
        )
        for name, partitions in changelog_topics(app).items()
        if name not in existing
    ]
    if not missing:
        return []
    created = []
    for name, future in admin.create_topics(missing, operation_timeout=timeout).items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as err:
            if err.args[0].code() != TOPIC_ALREADY_EXISTS:
                raise BrokerError(f"cannot create changelog topic {name}: {err}") from err
    log.info("created changelog topics: %s", ", ".join(created))
    return created


def run_worker(
    worker: WorkerSettings,
    broker: BrokerSettings,
    storage: StorageSettings,
    fleet: Fleet,
    loglevel: str = "warn",
) -> None:
    """Build the app and run it until SIGTERM or SIGINT; stopping lets the landing agent finish its batch.

    The contract topics must exist (`hcp.broker.ensure_topics`); the table changelogs are created here.
    """
    storage.run_dir.mkdir(parents=True, exist_ok=True)
    storage.landing_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(worker, broker, storage, fleet)
    ensure_changelog_topics(app, broker)
    faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
