"""The fleet agent: device discovery and online/offline changes from telemetry, to `fleet.devices`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import faust

from hcp.exceptions import RecordError
from hcp.records import DeviceChange, DeviceKind
from hcp.settings import WorkerSettings
from hcp.telemetry_cache import RECENT_COLUMNS
from hcp.telemetry_columns import RECENT_VERDICTS, TelemetryColumns, decode_telemetry
from hcp.topics import FLEET_DEVICES, TELEMETRY_ASIC, TELEMETRY_GPU, TOPICS
from streams.fleet.tracker import DeviceState, FleetTracker
from streams.tables import json_table
from streams.topics import contract_topic, contract_topics

log = logging.getLogger(__name__)

DEVICE_KINDS: dict[str, DeviceKind] = {TELEMETRY_ASIC: DeviceKind.ASIC, TELEMETRY_GPU: DeviceKind.GPU}
EXPIRY_CHECK_INTERVAL_S = 5.0
# A batch is what the consumer has buffered, up to this many messages, gathered for at most this long: big
# enough to amortise faust's per-event cost (docs/benchmarks.md), short enough that a discovery is prompt.
FLEET_BATCH_MAX = 1000
FLEET_BATCH_WITHIN_S = 0.05


@dataclass
class FleetState:
    """The fleet agent's memory: the tracker, where each site's telemetry arrives, and counts."""

    tracker: FleetTracker
    site_partitions: dict[str, int] = field(default_factory=dict)
    polls: int = 0
    readings: int = 0
    skipped: int = 0
    changes: int = 0


def restore_devices(tracker: FleetTracker, devices: faust.Table, device_ids: Sequence[str]) -> None:
    """Teach the tracker devices it does not know but the (recovered) table does: no rediscovery on restart."""
    for device_id in device_ids:
        if device_id not in tracker.devices and device_id in devices:
            tracker.restore(device_id, DeviceState.from_dict(devices[device_id]))


async def publish_changes(topic: faust.TopicT, changes: Sequence[DeviceChange]) -> None:
    """Send the changes keyed by site and wait until the broker has them."""
    deliveries = [
        await topic.send(key=change.site_id.encode(), value=change.to_json(), force=True) for change in changes
    ]
    await asyncio.gather(*deliveries)


def decode_polls(messages: Sequence[tuple[str, int, int, bytes | None]]) -> list[TelemetryColumns | RecordError]:
    """Each (topic, partition, offset, value) decoded as columns, or the error that makes the landing agent
    dead-letter it; each verdict is noted for the landing agent of this worker (`RECENT_VERDICTS`)."""
    decoded: list[TelemetryColumns | RecordError] = []
    for topic, partition, offset, value in messages:
        try:
            columns = decode_telemetry(topic, value)
        except RecordError as err:
            RECENT_VERDICTS.remember(topic, partition, offset, value, err)
            decoded.append(err)
        else:
            RECENT_VERDICTS.remember(topic, partition, offset, value, (columns.event_id, columns.event_time))
            decoded.append(columns)
    return decoded


def store_changes(devices: faust.Table, state: FleetState, changes: Sequence[DeviceChange], partition: int) -> None:
    """Write the changed devices to the table, on the changelog partition of the site's telemetry."""
    for change in changes:
        entry = state.tracker.devices[change.device_id].to_dict()
        # Outside a single event's context faust cannot infer the changelog partition: name it.
        devices.data[change.device_id] = entry
        devices.send_changelog(partition, change.device_id, entry)


async def track_events(
    events: Sequence[faust.EventT], state: FleetState, topic: faust.TopicT, devices: faust.Table
) -> None:
    """Handle a batch of telemetry messages in order: publish discoveries, returns and expiries; store them."""
    messages = [(e.message.topic, e.message.partition, e.message.offset, e.message.value) for e in events]
    # Validating polls of hundreds of readings takes milliseconds each: off the loop, so that price ticks and
    # job requests waiting behind telemetry in this worker are not held up by it.
    decoded = await asyncio.to_thread(decode_polls, messages)
    pending: list[tuple[int, list[DeviceChange]]] = []
    for event, poll in zip(events, decoded, strict=True):
        if isinstance(poll, RecordError):
            state.skipped += 1  # the landing agent dead-letters it
            log.debug("skipped invalid telemetry: %s", poll)
            continue
        partition = event.message.partition
        state.polls += 1
        state.readings += len(poll)
        state.site_partitions[poll.site_id] = partition
        restore_devices(state.tracker, devices, state.tracker.unknown(poll.device_ids))
        changes = state.tracker.observe_ids(
            poll.site_id, DEVICE_KINDS[poll.topic], poll.device_ids, poll.models, poll.event_time
        ) + state.tracker.expire(poll.site_id, poll.event_time)
        if changes:
            pending.append((partition, changes))
    await publish_changes(topic, [change for _, changes in pending for change in changes])
    for partition, changes in pending:
        store_changes(devices, state, changes, partition)
        state.changes += len(changes)


async def expire_all_sites(state: FleetState, topic: faust.TopicT, devices: faust.Table) -> None:
    """Check every site this worker consumes for silent devices, against the site's own clock.

    The per-message check already covers a site whenever its clock moves; this timer is the safety net.
    """
    for site_id, partition in list(state.site_partitions.items()):
        now = state.tracker.site_clock(site_id)
        changes = state.tracker.expire(site_id, now) if now else []
        if not changes:
            continue
        await publish_changes(topic, changes)
        store_changes(devices, state, changes, partition)
        state.changes += len(changes)


def register_fleet(app: faust.App, worker: WorkerSettings) -> FleetState:
    """Declare the `track_fleet` agent, its `devices` table and its expiry timer on `app`."""
    telemetry = contract_topics(app, tuple(DEVICE_KINDS))
    fleet_devices = contract_topic(app, FLEET_DEVICES)
    devices = json_table(
        app,
        "devices",
        TOPICS[TELEMETRY_ASIC].partitions,
        "device_id -> site, kind, model, status, last_seen; written only when one of them changes",
    )
    state = FleetState(FleetTracker(worker.offline_after_s))
    for topic in DEVICE_KINDS:
        RECENT_COLUMNS.add_reader(topic, "track_fleet")

    async def track_fleet(stream: faust.StreamT) -> None:
        """Publish a DeviceChange when a device is discovered, goes silent or reports again."""
        async for events in stream.take_events(FLEET_BATCH_MAX, within=FLEET_BATCH_WITHIN_S):
            await track_events(events, state, fleet_devices, devices)

    async def expire_silent_devices() -> None:
        await expire_all_sites(state, fleet_devices, devices)

    app.agent(telemetry, name="track_fleet")(track_fleet)
    app.timer(EXPIRY_CHECK_INTERVAL_S, name="expire_silent_devices")(expire_silent_devices)
    return state
