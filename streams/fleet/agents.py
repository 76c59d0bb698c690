"""The fleet agent: device discovery and online/offline changes from telemetry, to `fleet.devices`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import faust

from hcp.codec import decode_record
from hcp.exceptions import RecordError
from hcp.records import AsicTelemetry, DeviceChange, DeviceKind, GpuTelemetry
from hcp.settings import WorkerSettings
from hcp.topics import FLEET_DEVICES, TELEMETRY_ASIC, TELEMETRY_GPU, TOPICS
from streams.fleet.tracker import DeviceState, FleetTracker
from streams.tables import json_table
from streams.topics import contract_topic, contract_topics

log = logging.getLogger(__name__)

DEVICE_KINDS: dict[str, DeviceKind] = {TELEMETRY_ASIC: DeviceKind.ASIC, TELEMETRY_GPU: DeviceKind.GPU}
EXPIRY_CHECK_INTERVAL_S = 5.0


@dataclass
class FleetState:
    """The fleet agent's memory: the tracker, where each site's telemetry arrives, and counts."""

    tracker: FleetTracker
    site_partitions: dict[str, int] = field(default_factory=dict)
    polls: int = 0
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


async def track_event(event: faust.EventT, state: FleetState, topic: faust.TopicT, devices: faust.Table) -> None:
    """Handle one telemetry message: publish discoveries, returns and expiries, and store them in the table."""
    message = event.message
    try:
        # Validating a poll of hundreds of readings takes milliseconds: off the loop, so that price ticks and
        # job requests waiting behind telemetry in this worker are not held up by it.
        record = await asyncio.to_thread(decode_record, message.topic, message.value)
    except RecordError as err:
        state.skipped += 1  # the landing agent dead-letters it
        log.debug("skipped invalid telemetry: %s", err)
        return
    assert isinstance(record, AsicTelemetry | GpuTelemetry)
    state.polls += 1
    state.site_partitions[record.site_id] = message.partition
    restore_devices(state.tracker, devices, [r.device_id for r in record.readings])
    changes = state.tracker.observe(
        record.site_id, DEVICE_KINDS[message.topic], record.readings, record.event_time
    ) + state.tracker.expire(record.site_id, record.event_time)
    await publish_changes(topic, changes)
    for change in changes:
        devices[change.device_id] = state.tracker.devices[change.device_id].to_dict()
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
        for change in changes:
            entry = state.tracker.devices[change.device_id].to_dict()
            # Outside a stream faust cannot infer the changelog partition: use the site's telemetry partition,
            # the one the table would have used inside the stream.
            devices.data[change.device_id] = entry
            devices.send_changelog(partition, change.device_id, entry)
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

    async def track_fleet(stream: faust.StreamT) -> None:
        """Publish a DeviceChange when a device is discovered, goes silent or reports again."""
        async for event in stream.events():
            await track_event(event, state, fleet_devices, devices)

    async def expire_silent_devices() -> None:
        await expire_all_sites(state, fleet_devices, devices)

    app.agent(telemetry, name="track_fleet")(track_fleet)
    app.timer(EXPIRY_CHECK_INTERVAL_S, name="expire_silent_devices")(expire_silent_devices)
    return state
