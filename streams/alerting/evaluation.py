"""One batch of consumed messages through the alert rules and the metrics. Pure: no faust."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hcp.alerting import AlertEvaluator
from hcp.codec import decode_record
from hcp.exceptions import RecordError
from hcp.observability import PlatformMetrics
from hcp.records import Alert, Decision, PriceTick
from hcp.telemetry_access import decode_telemetry_shared
from hcp.telemetry_columns import TelemetryColumns
from hcp.topics import DEAD_LETTERS, DECISIONS, MARKET_PRICES, TELEMETRY_ASIC, TELEMETRY_GPU

TELEMETRY_TOPICS = (TELEMETRY_ASIC, TELEMETRY_GPU)
WATCHED_TOPICS = (*TELEMETRY_TOPICS, MARKET_PRICES, DECISIONS, DEAD_LETTERS)


@dataclass
class AlertingState:
    """The evaluator, the metrics it feeds, and a lock: batches run in a thread, the pipeline timer on the loop."""

    evaluator: AlertEvaluator
    metrics: PlatformMetrics
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: int = 0
    skipped: int = 0
    alerts: int = 0


def offline_count(state: AlertingState, collector_id: str) -> int:
    return sum(1 for missed in state.evaluator.membership.missed.get(collector_id, {}).values() if missed)


def evaluate_message(
    state: AlertingState, topic: str, value: bytes | None, origin: tuple[int, int] | None = None
) -> list[Alert]:
    """Feed one message to the rules and the metrics; return the alert transitions it causes.

    Telemetry is decoded as columns (`hcp.telemetry_access.decode_telemetry_shared`, sharing verdicts with the
    worker's other agents through `origin`, its (partition, offset)); other topics as their record class.
    """
    metrics, evaluator = state.metrics, state.evaluator
    metrics.messages.labels(topic).inc()
    if topic == DEAD_LETTERS:
        metrics.deadletters.inc()
        evaluator.deadletters.add(time.time(), 1)
        return []
    try:
        if topic in TELEMETRY_TOPICS:
            return evaluate_poll(state, decode_telemetry_shared(topic, value, origin))
        record = decode_record(topic, value)
    except RecordError:
        state.skipped += 1  # the landing agent dead-letters it
        return []
    if isinstance(record, PriceTick):
        alerts = evaluator.on_price(record)
        metrics.observe_price(record)
    elif isinstance(record, Decision):
        alerts = evaluator.on_decision(record)
    else:
        alerts = []
    return alerts


def evaluate_poll(state: AlertingState, poll: TelemetryColumns) -> list[Alert]:
    """A telemetry poll (as columns) through the device rules and the fleet metrics."""
    if poll.topic == TELEMETRY_ASIC:
        alerts = state.evaluator.on_asic_columns(poll)
        state.metrics.observe_asic_columns(poll, offline_count(state, poll.collector_id))
    else:
        alerts = state.evaluator.on_gpu_columns(poll)
        state.metrics.observe_gpu_columns(poll, offline_count(state, poll.collector_id))
    return alerts


def evaluate_batch(
    state: AlertingState,
    messages: Sequence[tuple[str, bytes | None]],
    origins: Sequence[tuple[int, int]] | None = None,
) -> list[Alert]:
    """A batch of (topic, value) in consumption order through `evaluate_message`; `origins`: their
    (partition, offset), when known, to share telemetry verdicts with the worker's other agents."""
    where = origins if origins is not None else [None] * len(messages)
    with state.lock:
        alerts = [
            alert
            for (topic, value), origin in zip(messages, where, strict=True)
            for alert in evaluate_message(state, topic, value, origin)
        ]
        state.messages += len(messages)
        state.alerts += len(alerts)
        state.metrics.observe_alerts(alerts, state.evaluator.book.active)
    return alerts


def evaluate_pipeline(state: AlertingState, now_s: float) -> list[Alert]:
    """Consumer lag (from the metrics' latest lag snapshot) and the dead-letter rate through the rules."""
    snapshot = state.metrics.last_lag
    lag = snapshot.lag if snapshot is not None and snapshot.reachable else {}
    with state.lock:
        alerts = state.evaluator.on_pipeline(lag, datetime.fromtimestamp(now_s, UTC))
        state.alerts += len(alerts)
        state.metrics.observe_alerts(alerts, state.evaluator.book.active)
    return alerts
