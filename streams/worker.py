"""Running the stream worker: table changelog topics first, then the faust worker until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os

import faust

from hcp.alerting import AlertSettings
from hcp.broker import create_missing_topics
from hcp.epochs import EpochFence, start_or_join_epoch
from hcp.fleet import Fleet
from hcp.observability import MetricsSettings, PlatformMetrics
from hcp.observability.endpoint import platform_groups, start_observability
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings, load_settings
from streams.app import create_app

log = logging.getLogger(__name__)


def changelog_topics(app: faust.App) -> dict[str, int]:
    """Changelog topic name -> partition count, for every table of the app."""
    return {table.changelog_topic_name: table.partitions or app.conf.topic_partitions for table in app.tables.values()}


def ensure_changelog_topics(app: faust.App, broker: BrokerSettings, timeout: float = 15.0) -> list[str]:
    """Create the tables' compacted changelog topics that do not exist yet; return those created.

    The app runs with `topic_allow_declare=False` so that faust never creates a contract topic with the wrong
    partition count; the changelogs are its own, so they are created here with the tables' partition counts.
    """
    return create_missing_topics(broker, changelog_topics(app), config={"cleanup.policy": "compact"}, timeout=timeout)


def quiet_worker(app: faust.App, loglevel: str) -> faust.Worker:
    """A faust worker that logs at `loglevel` and no lower.

    Faust's terminal spinner (made even when stdout is a file) sets the root logger to DEBUG when the level is
    WARN or above, so that every `log.debug` of faust and aiokafka builds a record for it: 13 % of the ingest
    worker's main thread in a profile under load (docs/benchmarks.md, "Session 6"). Without the spinner the root
    logger stays at `loglevel`.
    """
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.spinner = None
    return worker


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
    if worker.nice:
        os.nice(worker.nice)  # below the control worker on shared cores (docs/scaling.md)
    storage.run_dir.mkdir(parents=True, exist_ok=True)
    storage.landing_dir.mkdir(parents=True, exist_ok=True)
    (storage.run_dir / "faust").mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    metrics = PlatformMetrics(fleet)
    fence = EpochFence(broker, start_or_join_epoch(broker))
    app = create_app(worker, broker, storage, fleet, metrics, load_settings(AlertSettings), fence=fence)
    ensure_changelog_topics(app, broker)
    landing_group = worker.group_id if worker.role in ("all", "ingest") else None
    endpoint = start_observability(
        metrics.registry,
        broker,
        load_settings(MetricsSettings),
        worker.role,
        platform_groups(worker),
        lambda snapshot: metrics.observe_lag(snapshot, landing_group),
    )
    try:
        quiet_worker(app, loglevel).execute_from_commandline()
    finally:
        if endpoint is not None:
            endpoint.stop()
