"""The notifier process: `alerts` topic -> outbox -> channels, until SIGTERM/SIGINT or `stop` is set.

An alert's offset is committed only after its transition and notifications are in the outbox (SQLite), so a
crash between the two redelivers it and the outbox's uniqueness makes the redelivery a no-op.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from confluent_kafka import Consumer, KafkaException
from prometheus_client import CollectorRegistry, Counter, Gauge

from hcp.codec import decode_record
from hcp.consuming import ready_messages
from hcp.exceptions import BrokerError, RecordError
from hcp.notify.channels import build_channels
from hcp.notify.notifier import Notifier
from hcp.notify.outbox import Attempt, Outbox
from hcp.notify.settings import NotifySettings
from hcp.observability.endpoint import start_observability
from hcp.observability.settings import MetricsSettings
from hcp.records import Alert
from hcp.settings import BrokerSettings, StorageSettings
from hcp.topics import ALERTS

log = logging.getLogger(__name__)


def outbox_path(storage: StorageSettings) -> Path:
    return storage.home / "notify" / "outbox.sqlite"


def run_notifier(
    settings: NotifySettings,
    broker: BrokerSettings,
    storage: StorageSettings,
    metrics_settings: MetricsSettings,
    stop: threading.Event | None = None,
) -> None:
    """Consume `alerts`, queue and deliver notifications, escalate unacknowledged alerts."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    registry = CollectorRegistry()
    attempts = Counter("hcp_notifications_total", "delivery attempts", ["channel", "kind", "outcome"],
                       registry=registry)
    pending = Gauge("hcp_notifications_pending", "notifications waiting for delivery", registry=registry)

    def count(attempt: Attempt) -> None:
        attempts.labels(attempt.notification.channel, attempt.notification.kind, attempt.outcome).inc()

    outbox = Outbox(outbox_path(storage))
    notifier = Notifier(settings, outbox, build_channels(settings), on_attempt=count)
    consumer = Consumer(broker.librdkafka_config() | {
        "group.id": settings.group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
    })
    endpoint = start_observability(registry, broker, metrics_settings, "notifier", [settings.group_id])
    try:
        consumer.subscribe([ALERTS])
        while not stop.is_set():
            messages = ready_messages(consumer, settings.poll_interval_s, limit=100)
            for message in messages:
                if message.error() is not None:
                    log.warning("alerts stream error: %s", message.error())
                    continue
                try:
                    record = decode_record(ALERTS, message.value())
                except RecordError as err:
                    log.warning("skipping an invalid alert: %s", err)
                    continue
                assert isinstance(record, Alert)
                notifier.accept(record)
            if messages:
                consumer.commit(asynchronous=False)
            notifier.escalate()
            notifier.deliver_due()
            pending.set(outbox.db.execute("select count(*) from notifications where status='pending'").fetchone()[0])
    except KafkaException as err:
        raise BrokerError(f"notifier cannot read {ALERTS}: {err}") from err
    finally:
        consumer.close()
        outbox.close()
        if endpoint is not None:
            endpoint.stop()
