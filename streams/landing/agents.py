"""The landing agent: every topic, in batches, to Parquet files; invalid records to the dead letters."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import faust

from hcp.deadletters import dead_letter_message
from hcp.epochs import BrokerRestartedError, EpochFence
from hcp.landing import LandingWriter
from hcp.settings import StorageSettings, WorkerSettings
from hcp.telemetry_columns import VerdictWait
from hcp.topics import DEAD_LETTERS, TOPICS
from streams.landing.screening import TelemetryScreen, screen_triage
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

# Exit code of a worker that found the broker restarted under it (EX_TEMPFAIL: start it again).
EXIT_BROKER_RESTARTED = 75


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


def sort_batch(
    writer: LandingWriter,
    messages: list[RawMessage],
    screen: TelemetryScreen | None = None,
    verdict_wait: VerdictWait | None = None,
) -> tuple[Triage, list[Rejection]]:
    # One copy per (topic, partition, offset): the consumer was seen to hand over a message twice in one batch.
    first_copies: dict[tuple[str, int, int], RawMessage] = {}
    for message in messages:
        first_copies.setdefault((message.topic, message.partition, message.offset), message)
    unique = list(first_copies.values())
    triage = screen_triage(triage_messages(unique, verdict_wait), screen)
    return triage, drop_landed_rejections(triage, writer)


async def land_events(
    events: Sequence[faust.EventT],
    writer: LandingWriter,
    deadletters: faust.TopicT,
    counters: LandingCounters,
    fence: EpochFence | None = None,
    screen: TelemetryScreen | None = None,
    verdict_wait: VerdictWait | None = None,
) -> None:
    """Land one batch: dead letters sent and delivered, landing files on disk, all before this returns.

    Faust's `take_events` acks a batch's events only when the agent asks for the next batch, so returning
    from here is what allows the batch's offsets to be committed. With a `fence`, the broker's epoch is
    checked first: a batch from a restarted broker raises `BrokerRestartedError` before anything is written.
    """
    if fence is not None:
        await run_to_completion(fence.check)
    # Validation and Parquet writes are CPU and disk work: keep them off the loop that heartbeats the group.
    messages = [raw_message(e) for e in events]
    triage, rejections = await run_to_completion(sort_batch, writer, messages, screen, verdict_wait)
    deliveries = [
        await deadletters.send(key=rejection.message.key, value=value, headers=headers, force=True)
        for rejection in rejections
        for value, headers in [dead_letter_message(rejection.message.value, rejection.dead_letter.headers())]
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
    await run_to_completion(write_landed, writer, triage.landed, triage.rejected)
    counters.batches += 1
    counters.landed += triage.landed_count
    counters.dead_lettered += len(rejections)


def register_landing(
    app: faust.App,
    worker: WorkerSettings,
    storage: StorageSettings,
    fence: EpochFence | None = None,
    known_sites: frozenset[str] | None = None,
    verdict_wait: VerdictWait | None = None,
) -> LandingCounters:
    """Declare the landing agent `land_messages` on `app`, subscribed to every contract topic.

    With a `fence` (the broker epoch this worker started in), offsets land shifted by the epoch's base and a
    broker restart stops the process before it lands anything (exit code `EXIT_BROKER_RESTARTED`). With
    `known_sites`, implausible telemetry (unknown site, clock a day off) is dead-lettered (`screening`). With
    `verdict_wait` (the fleet agent runs in the same worker), telemetry verdicts are awaited from the fleet agent
    instead of decoding each poll twice: when the worker is behind, the landing agent's large batches got ahead
    of the fleet agent and decoded a third of the polls itself (docs/benchmarks.md).
    """
    channel = contract_topics(app, tuple(TOPICS))
    deadletters = contract_topic(app, DEAD_LETTERS)
    writer = LandingWriter(storage.landing_dir, epoch=fence.epoch if fence else None)
    counters = LandingCounters()
    screen = TelemetryScreen(known_sites) if known_sites else None

    async def land_messages(stream: faust.StreamT) -> None:
        """Land every message of every topic; one landing file per partition per batch."""
        batches = stream.take_events(worker.landing_batch_max, within=worker.landing_flush_interval_s)
        async for events in batches:
            try:
                await land_events(events, writer, deadletters, counters, fence, screen, verdict_wait)
            except BrokerRestartedError as err:
                # Exit at once: a graceful stop would ack (and commit to the new broker) what was never landed.
                log.critical("%s", err)
                os._exit(EXIT_BROKER_RESTARTED)

    async def forget_revoked_landed_ranges(sender: object, revoked: set, **kwargs: object) -> None:
        writer.forget_landed_ranges((tp.topic, tp.partition) for tp in revoked)

    app.on_partitions_revoked.connect(forget_revoked_landed_ranges, weak=False)
    app.agent(channel, name="land_messages")(land_messages)
    return counters
