"""The site control agent: prices and job requests in, decisions and commands out (logic in `controller`).

One agent subscribes to both `market.prices` and `workloads.requests` so that the price memory, the policy
state, the ASIC mixes in force and the routers live together: a placement needs the prices and the ASIC mix to
check the site's power, and an interval decision needs the routers' GPU demand. The agent therefore keeps one
controller for the whole fleet and must run in one worker process (the app runs one worker; scaling out would
repartition both topics by site first).

Restart (SIGTERM or SIGKILL): the prices, the policy states, the mixes in force, each site's interval market and
each site's jobs (router snapshot: running jobs on their GPUs, the queue by priority and arrival, the clock) live
in the one-partition `site_control` table, written after each message only where they changed, and are read back
before the first event. The same table keeps, per source partition, the offset of the last message handled,
written after that message's records were delivered and its changes written: a message redelivered after a crash
(offset not yet committed) at or below it is skipped, so it places no job twice. The table's changelog is one
partition written by one producer in order, so whatever a crash keeps of it is a prefix: if the offset of a
message was kept, so were its changes. A crash between a message's first change and its offset replays the
message on part of its changes; the controller then skips a request whose job it already knows. See
docs/reliability.md ("The site controller across a restart").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faust

from hcp.codec import decode_record
from hcp.exceptions import RecordError
from hcp.fleet import Fleet
from hcp.records import DeadLetter, PriceTick, Record, WorkloadRequest
from hcp.topics import CONTROL_COMMANDS, DEAD_LETTERS, DECISIONS, MARKET_PRICES, WORKLOAD_REQUESTS
from streams.power.controller import ControlOutput, SiteController
from streams.tables import json_table
from streams.topics import contract_topic, contract_topics

log = logging.getLogger(__name__)

CONTROL_TABLE_PARTITION = 0
HANDLED_PREFIX = "handled:"
"""Table keys `handled:<topic>:<partition>`: offset of the last message of that partition handled."""


@dataclass
class ControlState:
    """The controller and what the agent has done since the worker started."""

    controller: SiteController
    restored: bool = False
    messages: int = 0
    redelivered: int = 0
    """Messages skipped because their offset was handled before the worker (re)started."""
    skipped: int = 0
    decisions: int = 0
    commands: int = 0
    errors: list[str] = field(default_factory=list)
    on_decided: Callable[[float, int], None] | None = None
    """Called with (seconds since the message entered the broker, decisions sent) after each decided message."""


async def send_records(batches: Sequence[tuple[faust.TopicT, Sequence[Record]]]) -> None:
    """Send records keyed by site and wait until the broker has them all (in order within a topic and site).

    Every record is queued before the first acknowledgement is awaited: one broker round trip for the commands
    and the decisions together, not one per topic.
    """
    deliveries = [
        await topic.send(key=str(record.site_id).encode(), value=record.to_json(), force=True)
        for topic, records in batches
        for record in records
    ]
    await asyncio.gather(*deliveries)


def compute_output(state: ControlState, topic: str, value: bytes | None) -> ControlOutput | None:
    """Decode the message and hand it to the controller; None for a message that is skipped."""
    try:
        record = decode_record(topic, value)
    except RecordError as err:
        state.skipped += 1  # the landing agent dead-letters it
        log.debug("skipped invalid message on %s: %s", topic, err)
        return None
    if isinstance(record, PriceTick):
        return state.controller.on_price(record)
    if isinstance(record, WorkloadRequest):
        return state.controller.on_request(record, record.event_time)
    return None


async def handle_event(
    event: faust.EventT,
    state: ControlState,
    decisions: faust.TopicT,
    commands: faust.TopicT,
    table: faust.Table,
    deadletters: faust.TopicT | None = None,
) -> None:
    """One message: restore on the first, then send the commands, the decisions, and write the table changes.

    A message the controller fails on is not skipped silently: it goes to `deadletters` with the error (replay
    it with `hcp dead-letters replay` after the fix) and the agent carries on with the next one.
    """
    message = event.message
    if not state.restored:
        state.controller.restore([(k, v) for k, v in table.data.items() if not k.startswith(HANDLED_PREFIX)])
        state.restored = True
        log.info("site control restored: %s", state.controller.describe_jobs())
    handled_key = f"{HANDLED_PREFIX}{message.topic}:{message.partition}"
    handled = table.data.get(handled_key)
    if handled is not None and message.offset <= handled:
        state.redelivered += 1
        return
    state.messages += 1
    try:
        output = compute_output(state, message.topic, message.value)
    except Exception as err:  # a bug or an unforeseen input must not stop the agent
        state.errors.append(f"{type(err).__name__}: {err}")
        log.exception("site control failed on %s offset %s", message.topic, message.offset)
        if deadletters is not None:
            await dead_letter_failure(deadletters, event, err)
        output = None
    if output is not None:
        await send_records([(commands, output.commands), (decisions, output.decisions)])
        write_changes(table, output.changes)
        state.decisions += len(output.decisions)
        state.commands += len(output.commands)
        if state.on_decided is not None and output.decisions and message.timestamp:
            state.on_decided(time.time() - message.timestamp, len(output.decisions))
    write_changes(table, [(handled_key, message.offset)])  # last: its presence proves the changes above


def write_changes(table: faust.Table, changes: Sequence[tuple[str, object]]) -> None:
    """Set the entries and send them to the changelog, in order."""
    for key, value in changes:
        # One partition whatever topic the event came from (the two source topics differ in partitions).
        table.data[key] = value
        table.send_changelog(CONTROL_TABLE_PARTITION, key, value)


async def dead_letter_failure(deadletters: faust.TopicT, event: faust.EventT, err: Exception) -> None:
    """Send the message the controller failed on to the dead letters, with the error and its origin."""
    message = event.message
    letter = DeadLetter(
        original_topic=message.topic,
        original_partition=message.partition,
        original_offset=message.offset,
        error_class=type(err).__name__,
        error_message=f"site control failed: {err}",
    )
    delivery = await deadletters.send(key=message.key, value=message.value, headers=letter.headers(), force=True)
    await delivery


def register_power(app: faust.App, fleet: Fleet, model_home: Path | None = None) -> ControlState:
    """Declare the `control_sites` agent and its `site_control` table on `app`.

    With `model_home`, the router classifies workloads that declare no class with the newest promoted workload
    classifier registered there (models.registry); without one they are routed as best effort (logged).
    """
    decisions = contract_topic(app, DECISIONS)
    commands = contract_topic(app, CONTROL_COMMANDS)
    deadletters = contract_topic(app, DEAD_LETTERS)
    table = json_table(
        app, "site_control", 1,
        "prices, policy state, ASIC mix per site x model, jobs per site, offsets handled; written on change"
    )
    classify, ls_confidence = None, 0.8
    if model_home is not None:
        from hcp.settings import load_settings
        from models.live import load_request_classifier
        from models.settings import ModelSettings

        classify, loaded = load_request_classifier(model_home)
        ls_confidence = load_settings(ModelSettings).ls_confidence
        log.warning("site control: %s", loaded)
    state = ControlState(SiteController(fleet, classify=classify, ls_confidence=ls_confidence))

    async def control_sites(stream: faust.StreamT) -> None:
        """Decide ASIC power mixes per interval and route AI jobs, for every site."""
        async for event in stream.events():
            await handle_event(event, state, decisions, commands, table, deadletters)

    app.agent(contract_topics(app, (MARKET_PRICES, WORKLOAD_REQUESTS)), name="control_sites")(control_sites)
    return state
