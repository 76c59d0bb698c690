"""The Faust app factory: a new app per call, every agent registered explicitly (no autodiscovery)."""

from __future__ import annotations

import ssl

import faust

from hcp.alerting import AlertSettings
from hcp.epochs import EpochFence
from hcp.fleet import Fleet
from hcp.observability import PlatformMetrics
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.telemetry_columns import VerdictWait
from streams.alerting.agents import register_alerting
from streams.billing.agents import register_billing
from streams.commits import bound_wait_empty, guard_commits
from streams.fleet.agents import register_fleet
from streams.iteration import use_pure_python_iteration
from streams.landing.agents import register_landing
from streams.positions import fetch_never_reads_every_partition, seek_never_committed_to_reset_position
from streams.power.agents import register_power
from streams.resumption import keep_queues_when_already_active, release_puts_during_rebalance
from streams.transport import shorten_fetch_wait


def broker_urls(broker: BrokerSettings) -> list[str]:
    """Faust broker URLs for the comma-separated bootstrap servers."""
    return [f"kafka://{server.strip()}" for server in broker.servers.split(",") if server.strip()]


def broker_credentials(broker: BrokerSettings) -> faust.types.auth.CredentialsT | None:
    """Faust credentials for the configured security protocol; None for PLAINTEXT."""
    protocol = broker.security_protocol.upper()
    if protocol == "PLAINTEXT":
        return None
    context = ssl.create_default_context() if protocol.endswith("SSL") else None
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=broker.sasl_username,
            password=broker.sasl_password.get_secret_value() if broker.sasl_password else None,
            ssl_context=context,
            mechanism=broker.sasl_mechanism,
        )
    return faust.SSLCredentials(context)


def create_app(
    worker: WorkerSettings,
    broker: BrokerSettings,
    storage: StorageSettings,
    fleet: Fleet,
    metrics: PlatformMetrics | None = None,
    alert_settings: AlertSettings | None = None,
    fence: EpochFence | None = None,
) -> faust.App:
    """Build the stream worker's app with the agents of its role registered on it.

    `fence` (the broker epoch the worker started in) makes landing survive a broker restart (`hcp.epochs`).
    Ingest also runs the alert rules (`raise_alerts`); both roles feed `metrics` (a fresh registry if None).

    Role `ingest` runs landing and the fleet table; `control` runs the site controller (prices and job requests
    to decisions and commands) in a consumer group of its own, so that telemetry never queues ahead of a price
    tick; `all` runs everything in one process.
    """
    shorten_fetch_wait(worker.fetch_max_wait_ms)
    guard_commits()  # faust commits past unprocessed offsets, or stalls on repeats (streams/commits.py)
    bound_wait_empty(0.8 * worker.session_timeout_s)  # within the rebalance timeout (streams/commits.py)
    use_pure_python_iteration()  # faust's compiled iterator stalled ingest at start-up (streams/iteration.py)
    keep_queues_when_already_active()  # the end of a table recovery dropped fetched messages (streams/resumption.py)
    release_puts_during_rebalance()  # a put dropped at a revocation left wait_empty waiting (streams/resumption.py)
    fetch_never_reads_every_partition()  # a recovery end let a fetch drop paused partitions (streams/positions.py)
    seek_never_committed_to_reset_position()  # and the seek after it did not re-read them (streams/positions.py)
    app = faust.App(
        worker.group_id,
        broker=broker_urls(broker),
        broker_credentials=broker_credentials(broker),
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        autodiscover=False,
        datadir=str(storage.run_dir / "faust" / worker.group_id),
        web_enabled=worker.web_enabled,
        web_port=worker.web_port,
        # Faust's web endpoint has no authentication: loopback only (faust's default binds every interface).
        web_bind="127.0.0.1",
        consumer_auto_offset_reset="earliest",
        # The embedded broker holds a new group's first join for about the session timeout (30 s with faust's
        # defaults); a short session keeps worker start-up and failover quick.
        broker_session_timeout=worker.session_timeout_s,
        broker_heartbeat_interval=worker.heartbeat_interval_s,
        broker_rebalance_timeout=worker.session_timeout_s,
        # Contract topics are created by hcp.broker.ensure_topics with their partition counts, and the table
        # changelogs by streams.worker.ensure_changelog_topics: faust must create none of them.
        topic_allow_declare=False,
        # The leader topic would be one more topic faust declares; no agent or timer here needs a leader.
        topic_disable_leader=True,
    )
    metrics = metrics or PlatformMetrics(fleet)
    if worker.role in ("all", "ingest"):
        # The fleet agent validates every telemetry poll as it decodes it: landing awaits its verdicts.
        sites = frozenset(site.site_id for site in fleet.sites)
        register_landing(app, worker, storage, fence, sites, verdict_wait=VerdictWait())
        register_fleet(app, worker)
        register_billing(app)
        register_alerting(app, fleet, alert_settings or AlertSettings(), metrics)
    if worker.role in ("all", "control"):
        control = register_power(app, fleet, model_home=storage.home)
        control.on_decided = metrics.observe_decided
    return app
