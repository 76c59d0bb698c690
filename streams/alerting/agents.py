"""The alerting agent `raise_alerts`: telemetry, prices, decisions and dead letters through the alert rules
(`hcp.alerting`), transitions to the `alerts` topic, metrics on the way. Runs with the ingest role."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import faust

from hcp.alerting import AlertEvaluator, AlertSettings
from hcp.fleet import Fleet
from hcp.observability import PlatformMetrics
from hcp.records import Alert
from hcp.telemetry_cache import RECENT_COLUMNS
from hcp.topics import ALERTS
from streams.alerting.evaluation import (
    TELEMETRY_TOPICS,
    WATCHED_TOPICS,
    AlertingState,
    evaluate_batch,
    evaluate_pipeline,
)
from streams.shielding import run_to_completion
from streams.topics import contract_topic, contract_topics

BATCH_MAX = 500
BATCH_WITHIN_S = 0.5
PIPELINE_CHECK_INTERVAL_S = 5.0


async def publish_alerts(topic: faust.TopicT, alerts: Sequence[Alert]) -> None:
    """Send the transitions keyed by site (or `pipeline`) and wait until the broker has them."""
    deliveries = [
        await topic.send(key=(alert.site_id or "pipeline").encode(), value=alert.to_json(), force=True)
        for alert in alerts
    ]
    await asyncio.gather(*deliveries)


async def check_pipeline_once(state: AlertingState, alerts_topic: faust.TopicT) -> None:
    """The pipeline rules (lag, dead-letter rate) once, published.

    In a thread: the rules' lock may be held for seconds by a batch of large polls (`evaluate_batch`), and
    waiting for it on the event loop stalled every agent of the worker meanwhile.
    """
    await publish_alerts(alerts_topic, await run_to_completion(evaluate_pipeline, state, time.time()))


def register_alerting(app: faust.App, fleet: Fleet, settings: AlertSettings, metrics: PlatformMetrics) -> AlertingState:
    """Declare `raise_alerts` and its pipeline timer on `app`."""
    state = AlertingState(AlertEvaluator(fleet, settings), metrics)
    alerts_topic = contract_topic(app, ALERTS)
    for topic in TELEMETRY_TOPICS:
        RECENT_COLUMNS.add_reader(topic, "raise_alerts")

    async def raise_alerts(stream: faust.StreamT) -> None:
        """Apply the alert rules to every watched message; publish firing and resolved transitions."""
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            batch = [(e.message.topic, e.message.value) for e in events]
            origins = [(e.message.partition, e.message.offset) for e in events]
            await publish_alerts(alerts_topic, await run_to_completion(evaluate_batch, state, batch, origins))

    async def check_pipeline() -> None:
        await check_pipeline_once(state, alerts_topic)

    app.agent(contract_topics(app, WATCHED_TOPICS), name="raise_alerts")(raise_alerts)
    app.timer(PIPELINE_CHECK_INTERVAL_S, name="check_pipeline")(check_pipeline)
    return state
