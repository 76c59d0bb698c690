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
from hcp.records import Alert, AsicTelemetry, Decision, GpuTelemetry, PriceTick
from hcp.topics import DEAD_LETTERS, DECISIONS, MARKET_PRICES, TELEMETRY_ASIC, TELEMETRY_GPU

WATCHED_TOPICS = (TELEMETRY_ASIC, TELEMETRY_GPU, MARKET_PRICES, DECISIONS, DEAD_LETTERS)


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


def evaluate_message(state: AlertingState, topic: str, value: bytes | None) -> list[Alert]:
    """Feed one message to the rules and the metrics; return the alert transitions it causes."""
    metrics, evaluator = state.metrics, state.evaluator
    metrics.messages.labels(topic).inc()
    if topic == DEAD_LETTERS:
        metrics.deadletters.inc()
        evaluator.deadletters.add(time.time(), 1)
        return []
    try:
        record = decode_record(topic, value)
    except RecordError:
        state.skipped += 1  # the landing agent dead-letters it
        return []
    if isinstance(record, AsicTelemetry):
        alerts = evaluator.on_asic(record)
        metrics.observe_asic(record, offline_count(state, record.collector_id))
    elif isinstance(record, GpuTelemetry):
        alerts = evaluator.on_gpu(record)
        metrics.observe_gpu(record, offline_count(state, record.collector_id))
    elif isinstance(record, PriceTick):
        alerts = evaluator.on_price(record)
        metrics.observe_price(record)
    elif isinstance(record, Decision):
        alerts = evaluator.on_decision(record)
    else:
        alerts = []
    return alerts


def evaluate_batch(state: AlertingState, messages: Sequence[tuple[str, bytes | None]]) -> list[Alert]:
    """A batch of (topic, value) in consumption order through `evaluate_message`."""
    with state.lock:
        alerts = [alert for topic, value in messages for alert in evaluate_message(state, topic, value)]
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
