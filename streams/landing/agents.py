"""The landing agent: every topic, in batches, to Parquet files; invalid records to the dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import faust

from hcp.landing import LandingWriter
from hcp.settings import StorageSettings, WorkerSettings
from hcp.topics import DEAD_LETTERS, TOPICS
from streams.landing.triage import (
    RawMessage,
    Rejection,
    Triage,
    drop_landed_rejections,
    normalize_headers,
    triage_messages,
    write_landed,
)
from streams.shielding import run_to_completion
from streams.topics import contract_topic, contract_topics

log = logging.getLogger(__name__)


@dataclass
class LandingCounters:
    """What the landing agent has done since the worker started."""

    batches: int = 0
    landed: int = 0
    dead_lettered: int = 0


def raw_message(event: faust.EventT) -> RawMessage:
    message = event.message
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp_ms=round(message.timestamp * 1000) if message.timestamp else None,
        headers=normalize_headers(message.headers),
    )


def sort_batch(writer: LandingWriter, messages: list[RawMessage]) -> tuple[Triage, list[Rejection]]:
    triage = triage_messages(messages)
    return triage, drop_landed_rejections(triage, writer)


async def land_events(
    events: Sequence[faust.EventT], writer: LandingWriter, deadletters: faust.TopicT, counters: LandingCounters
) -> None:
    """Land one batch: dead letters sent and delivered, landing files on disk, all before this returns.

    Faust's `take_events` acks a batch's events only when the agent asks for the next batch, so returning
    from here is what allows the batch's offsets to be committed.
    """
    # Validation and Parquet writes are CPU and disk work: keep them off the loop that heartbeats the group.
    triage, rejections = await run_to_completion(sort_batch, writer, [raw_message(e) for e in events])
    deliveries = [
        await deadletters.send(
            key=rejection.message.key,
            value=rejection.message.value,
            headers=rejection.dead_letter.headers(),
            force=True,
        )
        for rejection in rejections
    ]
    await asyncio.gather(*deliveries)
    if rejections:
        first = rejections[0].dead_letter
        log.warning(
            "dead-lettered %d message(s); first: %s[%d]@%d %s",
            len(rejections),
            first.original_topic,
            first.original_partition,
            first.original_offset,
            first.error_message,
        )
    await run_to_completion(write_landed, writer, triage.landed)
    counters.batches += 1
    counters.landed += triage.landed_count
    counters.dead_lettered += len(rejections)


def register_landing(app: faust.App, worker: WorkerSettings, storage: StorageSettings) -> LandingCounters:
    """Declare the landing agent `land_messages` on `app`, subscribed to every contract topic."""
    channel = contract_topics(app, tuple(TOPICS))
    deadletters = contract_topic(app, DEAD_LETTERS)
    writer = LandingWriter(storage.landing_dir)
    counters = LandingCounters()

    async def land_messages(stream: faust.StreamT) -> None:
        """Land every message of every topic; one landing file per partition per batch."""
        batches = stream.take_events(worker.landing_batch_max, within=worker.landing_flush_interval_s)
        async for events in batches:
            await land_events(events, writer, deadletters, counters)

    app.agent(channel, name="land_messages")(land_messages)
    return counters
