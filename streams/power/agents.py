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

Deliveries are pipelined: the agent decides a message and queues its records, then goes on to the next message
while the broker acknowledges them (the price ticks of one interval arrive together, one per node: the last of
them no longer waits for nine round trips). `InFlight` awaits each message's deliveries in order, then writes
its table changes and offset and acknowledges it to faust, so that its offset may be committed: the agent holds
one reference of the message (`Message.incref`) until then, on the same stream (faust's own acknowledgements
stay on; the streams that turned them off, `take_events` and `noack`, stalled after a table recovery).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
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
IN_FLIGHT_MAX = 100
"""Messages decided whose deliveries are not yet acknowledged, at most (the agent waits beyond it)."""
DRAIN_TIMEOUT_S = 5.0
"""At the agent's stop, how long the messages in flight may take to be acknowledged before they are left."""
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


@dataclass(frozen=True)
class ControlTopics:
    """Where the agent's records go."""

    decisions: faust.TopicT
    commands: faust.TopicT
    deadletters: faust.TopicT | None = None


@dataclass
class Decided:
    """A message decided and its records queued for the broker; finished once they are delivered."""

    event: faust.EventT
    handled_key: str
    output: ControlOutput | None
    deliveries: list[Awaitable[object]] = field(default_factory=list)


async def send_record(topic: faust.TopicT, key: bytes, value: bytes) -> Awaitable[object]:
    """Queue one record on the app's producer; its delivery, to await.

    Straight to faust's producer (aiokafka's `send`), not `Topic.send`: the records are serialised already, and
    faust's wrapping of each record (future message, callbacks, sensors) cost the agent 2.6 ms a tick against
    0.4 ms this way (3 or 4 records a tick, under 100,000 readings/s: docs/benchmarks.md, Session 9). The
    partition is the producer's default for the key, as `Topic.send` chooses it.
    """
    return await topic.app.producer.send(topic.get_topic_name(), key, value, None, None, None)


async def queue_records(batches: Sequence[tuple[faust.TopicT, Sequence[Record]]]) -> list[Awaitable[object]]:
    """Queue records keyed by site (in order within a topic and site); their deliveries, to await."""
    return [
        await send_record(topic, str(record.site_id).encode(), record.to_json())
        for topic, records in batches
        for record in records
    ]


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


async def decide_event(
    event: faust.EventT,
    state: ControlState,
    topics: ControlTopics,
    table: faust.Table,
    handled: dict[str, int],
) -> Decided | None:
    """One message: restore on the first, decide, and queue its commands and decisions (not awaited here).

    None for a message handled before: its offset is at or below the last one decided for its partition
    (`handled`, kept in memory since the worker started) or written to the table. A message the controller fails
    on is not skipped silently: it goes to the dead letters with the error (replay it with
    `hcp dead-letters replay` after the fix) and the agent carries on with the next one.
    """
    message = event.message
    if not state.restored:
        state.controller.restore([(k, v) for k, v in table.data.items() if not k.startswith(HANDLED_PREFIX)])
        state.restored = True
        log.info("site control restored: %s", state.controller.describe_jobs())
    handled_key = f"{HANDLED_PREFIX}{message.topic}:{message.partition}"
    last = handled.get(handled_key, table.data.get(handled_key))
    if last is not None and message.offset <= last:
        state.redelivered += 1
        return None
    handled[handled_key] = message.offset
    state.messages += 1
    try:
        output = compute_output(state, message.topic, message.value)
    except Exception as err:  # a bug or an unforeseen input must not stop the agent
        state.errors.append(f"{type(err).__name__}: {err}")
        log.exception("site control failed on %s offset %s", message.topic, message.offset)
        if topics.deadletters is not None:
            await dead_letter_failure(topics.deadletters, event, err)
        output = None
    decided = Decided(event, handled_key, output)
    if output is not None:
        decided.deliveries = await queue_records(
            [(topics.commands, output.commands), (topics.decisions, output.decisions)]
        )
    return decided


def finish_decided(decided: Decided, state: ControlState, table: faust.Table) -> None:
    """After its records were delivered: write the message's table changes, then its offset as handled."""
    output, message = decided.output, decided.event.message
    if output is not None:
        write_changes(table, output.changes)
        state.decisions += len(output.decisions)
        state.commands += len(output.commands)
        if state.on_decided is not None and output.decisions and message.timestamp:
            state.on_decided(time.time() - message.timestamp, len(output.decisions))
    write_changes(table, [(decided.handled_key, message.offset)])  # last: its presence proves the changes above


class DeliveryError(RuntimeError):
    """The broker refused records of a decided message: nothing after it was acknowledged."""


class InFlight:
    """Messages decided whose records are on their way; finished and acknowledged in order once delivered.

    The agent adds each decided message (holding one reference to it, so that faust's own acknowledgement at the
    end of the agent's step does not make it committable) and goes on. `run` awaits each message's deliveries in order,
    writes its table changes and offset (`finish_decided`) and acknowledges it on the stream. If a delivery
    fails, `run` stops there: nothing after it is acknowledged (so nothing after it is committed) and the agent
    raises `DeliveryError` at its next message.
    """

    def __init__(self, stream: faust.StreamT, state: ControlState, table: faust.Table, limit: int = IN_FLIGHT_MAX):
        self.stream, self.state, self.table = stream, state, table
        self.pending: asyncio.Queue[Decided] = asyncio.Queue(maxsize=limit)
        self.handled: dict[str, int] = {}
        """Last offset decided per `handled:<topic>:<partition>` key, finished or not."""
        self.failure: BaseException | None = None

    def raise_if_failed(self) -> None:
        """Raise `DeliveryError` if the records of a message in flight were refused."""
        if self.failure is not None:
            raise DeliveryError(f"records of an earlier message were not delivered: {self.failure}") from self.failure

    async def add(self, decided: Decided) -> None:
        """Hand over a decided message whose reference the agent holds (waits while `limit` are in flight)."""
        await self.pending.put(decided)

    async def run(self) -> None:
        """Finish the messages added, in order, as their deliveries are acknowledged."""
        while True:
            decided = await self.pending.get()
            outcomes = await asyncio.gather(*decided.deliveries, return_exceptions=True)
            refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
            if refused:  # kept unacknowledged: delivered again after the agent's restart
                self.failure = refused[0]
                message = decided.event.message
                log.error(
                    "site control: %d records of %s offset %s not delivered: %r",
                    len(refused), message.tp, message.offset, refused[0],
                )
                return
            finish_decided(decided, self.state, self.table)
            await self.stream.ack(decided.event)
            self.pending.task_done()

    async def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Wait (at most `timeout_s`) until every message added is finished."""
        if self.failure is None:
            await asyncio.wait_for(self.pending.join(), timeout_s)


async def control_stream(
    stream: faust.StreamT, state: ControlState, topics: ControlTopics, table: faust.Table
) -> None:
    """Decide every message of `stream`, with deliveries in flight (`InFlight`) while the next is decided."""
    # The fleet and the controller live as long as the worker: moved out of the cyclic collector's reach before the
    # first message, a full collection no longer walks them (about 90 ms for the large fleet), which would otherwise
    # fall on whichever tick triggers it.
    freeze_long_lived_objects()
    in_flight = InFlight(stream, state, table)
    finisher = asyncio.ensure_future(in_flight.run())
    try:
        async for event in stream.events():
            # Held until `in_flight` finishes the message. Also held if this step raises: a message not decided
            # is then never acknowledged (so never committed), and is delivered again after a restart.
            event.message.incref()
            in_flight.raise_if_failed()
            decided = await decide_event(event, state, topics, table, in_flight.handled)
            if decided is None:
                event.message.decref()  # handled before: faust's acknowledgement at the end of this step is final
                continue
            await in_flight.add(decided)
            await asyncio.sleep(0)  # let the producer put the records on the wire before the next decision
    finally:
        try:
            await in_flight.drain()
        except (TimeoutError, asyncio.CancelledError):  # left unacknowledged: delivered again after a restart
            log.warning("site control stopped with %d messages in flight", in_flight.pending.qsize())
        finisher.cancel()


def freeze_long_lived_objects() -> None:
    """Collect once, then keep every object alive now out of later collections (once a process)."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


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
        await control_stream(stream, state, ControlTopics(decisions, commands, deadletters), table)

    app.agent(contract_topics(app, (MARKET_PRICES, WORKLOAD_REQUESTS)), name="control_sites")(control_sites)
    return state
