"""The stream meter agent: every GPU telemetry poll metered with the billing core, published to `billing.usage`.

The metering rule is `hcp.billing.metering` (the same function the tests and the reconciliation use); this
module only decodes (as columns, `hcp.telemetry_columns`), calls it and sends. A poll that fails validation
is skipped here (the landing agent sends it to the dead letters). A poll delivered twice is metered twice
under the same event_id, and the warehouse keeps one copy, so redelivery never double-counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import faust

from hcp.billing.metering import metered_usage_records
from hcp.exceptions import RecordError
from hcp.records import MeteredUsage
from hcp.telemetry_access import decode_telemetry_shared
from hcp.telemetry_cache import RECENT_COLUMNS
from hcp.telemetry_columns import TelemetryColumns
from hcp.topics import BILLING_USAGE, TELEMETRY_GPU
from streams.shielding import run_to_completion
from streams.topics import contract_topic

log = logging.getLogger(__name__)

# Enough polls per batch to amortise faust's per-event cost; short enough that usage is published promptly.
METER_BATCH_MAX = 500
METER_BATCH_WITHIN_S = 0.5


@dataclass
class MeterCounters:
    """What the stream meter has done since the worker started."""

    polls: int = 0
    skipped: int = 0
    published: int = 0


def meter_polls(messages: Sequence[tuple[bytes | None, int, int]], counters: MeterCounters) -> list[MeteredUsage]:
    """Decode (value, partition, offset) triples of telemetry.gpu as columns and meter them; count undecodable
    ones. Verdicts are shared with the worker's other agents (`hcp.telemetry_access.decode_telemetry_shared`)."""
    polls: list[tuple[TelemetryColumns, int, int]] = []
    for value, partition, offset in messages:
        try:
            poll = decode_telemetry_shared(TELEMETRY_GPU, value, (partition, offset))
        except RecordError:
            counters.skipped += 1
            continue
        polls.append((poll, partition, offset))
    counters.polls += len(polls)
    return metered_usage_records(polls)


async def meter_events(events: Sequence[faust.EventT], sink: faust.TopicT, counters: MeterCounters) -> None:
    """Meter one batch and wait until the broker has every usage record before the batch is acknowledged."""
    messages = [(e.message.value, e.message.partition, e.message.offset) for e in events]
    records = await run_to_completion(meter_polls, messages, counters)
    deliveries = [
        await sink.send(key=record.site_id.encode(), value=record.to_json(), force=True) for record in records
    ]
    await asyncio.gather(*deliveries)
    counters.published += len(records)


def register_billing(app: faust.App) -> MeterCounters:
    """Declare the stream meter agent `meter_gpu_usage` on `app`, reading telemetry.gpu."""
    source = contract_topic(app, TELEMETRY_GPU)
    sink = contract_topic(app, BILLING_USAGE)
    counters = MeterCounters()
    RECENT_COLUMNS.add_reader(TELEMETRY_GPU, "meter_gpu_usage")

    async def meter_gpu_usage(stream: faust.StreamT) -> None:
        """Publish the billable GPU-seconds of every GPU poll to billing.usage."""
        async for events in stream.take_events(METER_BATCH_MAX, within=METER_BATCH_WITHIN_S):
            await meter_events(events, sink, counters)

    app.agent(source, name="meter_gpu_usage")(meter_gpu_usage)
    return counters
