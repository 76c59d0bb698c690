"""The ingest worker's fast paths give exactly what the reading-by-reading code gives (docs/benchmarks.md,
"The ingest hot path"): the fleet tracker's routine-poll path and its lookup of unknown devices, the alert
rules' collector membership shortcut; and the shared columns cache decodes each poll once for its readers."""

import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from hcp.alerting.evaluator import CollectorMembership
from hcp.exceptions import RecordError
from hcp.records import DeviceKind, DeviceStatus
from hcp.telemetry_cache import ColumnsCache
from hcp.telemetry_columns import decode_telemetry
from hcp.topics import TELEMETRY_GPU
from streams.fleet.tracker import DeviceState, FleetTracker
from tests.unit.test_columnar_alerts_and_metering import gpu_reading, payload

T0 = datetime(2023, 1, 16, tzinfo=UTC)
SITES = ("west-1", "west-2")
DEVICES = [f"a{i}" for i in range(12)]


class ReadingByReading(FleetTracker):
    """The tracker with the routine-poll path switched off: every poll goes through the per-reading loop."""

    def _observe_routine(self, *args: object) -> bool:
        return False


class Counting(FleetTracker):
    """The tracker, counting the polls its routine-poll path took."""

    routine = 0

    def _observe_routine(self, *args: object) -> bool:
        taken = super()._observe_routine(*args)
        self.routine += taken
        return taken


def random_step(rng: random.Random, clock: float) -> tuple[str, float, list[str]]:
    """A poll at one site: mostly the same devices a second later; sometimes late, moved, partial or repeated."""
    site = rng.choice(SITES) if rng.random() < 0.2 else SITES[0]
    ids = rng.sample(DEVICES, rng.randint(1, len(DEVICES))) if rng.random() < 0.3 else DEVICES[:8]
    if rng.random() < 0.1:
        ids = ids + ids[:2]  # a device twice in one poll
    roll = rng.random()
    if roll < 0.1:
        return site, clock - rng.choice([1, 30, 400]), ids  # a late poll
    if roll < 0.2:
        return site, clock + rng.choice([0, 301, 900]), ids  # the same instant, or after a long silence
    return site, clock + 1, ids


def snapshot(tracker: FleetTracker) -> dict[str, DeviceState]:
    return {device_id: tracker.devices[device_id] for device_id in sorted(tracker.devices)}


def test_routine_polls_taken_at_once_change_the_tracker_as_the_per_reading_loop_does():
    for seed in range(60):
        rng = random.Random(seed)
        fast, slow = Counting(300), ReadingByReading(300)
        if seed % 3 == 0:
            restored = DeviceState("west-2", DeviceKind.ASIC, "S21", DeviceStatus.OFFLINE, T0 - timedelta(hours=1))
            fast.restore("a3", restored)
            slow.restore("a3", restored)
        clock = 0.0
        for _ in range(80):
            site, seconds, ids = random_step(rng, clock)
            clock = max(clock, seconds)
            now = T0 + timedelta(seconds=seconds)
            models = ["S21"] * len(ids)
            got = fast.observe_ids(site, DeviceKind.ASIC, ids, models, now) + fast.expire(site, now)
            want = slow.observe_ids(site, DeviceKind.ASIC, ids, models, now) + slow.expire(site, now)
            assert got == want
            assert snapshot(fast) == snapshot(slow)
        assert fast.routine > 10, "the generator should mostly send routine polls"


def test_the_routine_path_takes_the_common_poll_and_leaves_changes_to_the_loop():
    tracker = FleetTracker(300)
    ids = DEVICES[:4]
    assert not tracker._observe_routine("west-1", ids, ["S21"] * 4, T0)  # unknown devices: discovery
    tracker.observe_ids("west-1", DeviceKind.ASIC, ids, ["S21"] * 4, T0)
    assert tracker._observe_routine("west-1", ids, ["S21"] * 4, T0 + timedelta(seconds=1))
    assert not tracker._observe_routine("west-1", ids, ["S21"] * 4, T0 + timedelta(seconds=1))  # not newer
    assert not tracker._observe_routine("west-2", ids, ["S21"] * 4, T0 + timedelta(seconds=2))  # moved site
    tracker.observe_ids("west-1", DeviceKind.ASIC, ["a9"], ["S21"], T0 + timedelta(seconds=900))  # site clock on
    assert len(tracker.expire("west-1", T0 + timedelta(seconds=900))) == 4
    assert not tracker._observe_routine("west-1", ids, ["S21"] * 4, T0 + timedelta(seconds=901))  # offline


def test_unknown_lists_the_devices_the_tracker_has_not_seen_in_their_order():
    tracker = FleetTracker(300)
    tracker.observe_ids("west-1", DeviceKind.ASIC, ["a1", "a3"], ["S21", "S21"], T0)
    assert tracker.unknown(["a4", "a1", "a2", "a3", "a4"]) == ["a4", "a2", "a4"]


def test_collector_membership_with_its_routine_shortcut_counts_missed_polls_as_the_full_scan_does():
    class FullScan(CollectorMembership):
        def observe(self, collector_id: str, present: set[str]) -> dict[str, int]:
            counts = self.missed.setdefault(collector_id, {})
            absent: dict[str, int] = {}
            for device_id in counts.keys() | present:
                counts[device_id] = 0 if device_id in present else counts[device_id] + 1
                if counts[device_id]:
                    absent[device_id] = counts[device_id]
            return absent

    for seed in range(40):
        rng = random.Random(seed)
        fast, full = CollectorMembership(), FullScan()
        for _ in range(60):
            present = set(DEVICES[:8]) if rng.random() < 0.6 else set(rng.sample(DEVICES, rng.randint(1, 12)))
            collector = rng.choice(["c1", "c1", "c2"])
            assert fast.observe(collector, present) == full.observe(collector, present)
            assert fast.missed == full.missed


def test_a_cached_poll_is_dropped_once_every_registered_reader_took_it_and_validation_takes_nothing():
    cache = ColumnsCache()
    cache.add_reader(TELEMETRY_GPU, "fleet")
    cache.add_reader(TELEMETRY_GPU, "alerts")
    cache.add_reader(TELEMETRY_GPU, "alerts")  # the same agent registered twice counts once
    rng = random.Random(5)
    message = payload(rng, [gpu_reading(rng, i) for i in range(10)], 0)
    validated = decode_telemetry(TELEMETRY_GPU, message, cache, reader=False)  # the landing agent came first
    assert decode_telemetry(TELEMETRY_GPU, message, cache) is validated  # the fleet agent
    assert len(cache) == 1
    assert decode_telemetry(TELEMETRY_GPU, message, cache) is validated  # the alert agent: the last reader
    assert len(cache) == 0 and cache.decodes == 1


def test_a_payload_asked_for_by_several_threads_at_once_is_decoded_once():
    cache = ColumnsCache()
    started, calls = threading.Event(), []

    def slow_decode(topic: str, value: bytes) -> list[int]:
        calls.append(value)
        started.set()
        time.sleep(0.2)  # long enough for the other threads to ask meanwhile
        return [1, 2, 3]

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get_or_decode("t", b"poll", slow_decode)))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: results.append(cache.get_or_decode("t", b"poll", slow_decode)))
              for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(10)
    assert len(calls) == 1 and results == [[1, 2, 3]] * 4


def test_a_failed_decode_is_not_stored_and_a_waiting_thread_gets_the_same_error():
    cache = ColumnsCache()
    with pytest.raises(RecordError):
        decode_telemetry(TELEMETRY_GPU, b"{}", cache)
    with pytest.raises(RecordError):
        decode_telemetry(TELEMETRY_GPU, b"{}", cache)
    assert len(cache) == 0 and cache.decodes == 2
