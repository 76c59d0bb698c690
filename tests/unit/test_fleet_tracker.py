from datetime import UTC, datetime, timedelta

from hcp.records import AsicReading, DeviceKind, DeviceStatus, GpuReading
from streams.fleet.tracker import DeviceState, FleetTracker

T0 = datetime(2023, 1, 16, tzinfo=UTC)
OFFLINE_AFTER_S = 300


def asic(device_id: str, model: str = "S21") -> AsicReading:
    return AsicReading(
        device_id=device_id, model=model, power_state="normal", hashrate_th=200.0, power_w=3500.0,
        temp_inlet_c=25.0, temp_chip_c=70.0, fan_rpm=5000, hashboards_ok=3, errors=0,
    )


def gpu(device_id: str) -> GpuReading:
    return GpuReading(
        device_id=device_id, gpu_type="H100", utilisation_pct=50.0, memory_used_gib=10.0,
        memory_total_gib=80.0, power_w=500.0, temp_c=60.0, ecc_errors=0,
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_first_reading_of_a_device_is_a_discovery():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    changes = tracker.observe("west-1", DeviceKind.ASIC, [asic("a1", "S19 XP"), asic("a2")], T0)
    assert [(c.device_id, c.first_seen, c.status, c.reason) for c in changes] == [
        ("a1", True, DeviceStatus.ONLINE, "discovered"),
        ("a2", True, DeviceStatus.ONLINE, "discovered"),
    ]
    assert changes[0].model == "S19 XP" and changes[0].site_id == "west-1" and changes[0].last_seen == T0


def test_gpu_discovery_names_the_gpu_type():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    [change] = tracker.observe("west-1", DeviceKind.GPU, [gpu("g1")], T0)
    assert change.device_kind is DeviceKind.GPU and change.model == "H100"


def test_known_device_reporting_again_changes_nothing():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a1")], T0)
    assert tracker.observe("west-1", DeviceKind.ASIC, [asic("a1")], at(60)) == []
    assert tracker.devices["a1"].last_seen == at(60)


def test_device_silent_longer_than_the_limit_goes_offline_on_its_site_clock():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("quiet"), asic("chatty")], T0)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("chatty")], at(OFFLINE_AFTER_S))
    assert tracker.expire("west-1", at(OFFLINE_AFTER_S)) == []
    tracker.observe("west-1", DeviceKind.ASIC, [asic("chatty")], at(OFFLINE_AFTER_S + 1))
    [change] = tracker.expire("west-1", tracker.site_clock("west-1"))
    assert (change.device_id, change.status, change.first_seen) == ("quiet", DeviceStatus.OFFLINE, False)
    assert change.last_seen == T0
    assert tracker.expire("west-1", tracker.site_clock("west-1")) == []  # offline once, not on every check


def test_expiry_of_one_site_leaves_other_sites_alone():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("w")], T0)
    tracker.observe("north-1", DeviceKind.ASIC, [asic("n")], at(10 * OFFLINE_AFTER_S))
    assert tracker.expire("west-1", tracker.site_clock("west-1")) == []
    assert tracker.devices["w"].status is DeviceStatus.ONLINE


def test_offline_device_that_reports_again_comes_back_online():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a1"), asic("a2")], T0)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a2")], at(400))
    tracker.expire("west-1", at(400))
    [change] = tracker.observe("west-1", DeviceKind.ASIC, [asic("a1")], at(460))
    assert (change.status, change.first_seen, change.last_seen) == (DeviceStatus.ONLINE, False, at(460))


def test_late_reading_older_than_the_last_one_does_not_revive_an_offline_device():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a1"), asic("a2")], at(60))
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a2")], at(600))
    tracker.expire("west-1", at(600))
    assert tracker.observe("west-1", DeviceKind.ASIC, [asic("a1")], T0) == []
    assert tracker.devices["a1"].status is DeviceStatus.OFFLINE


def test_replaying_the_same_telemetry_yields_the_same_event_ids():
    def run() -> list[str]:
        tracker = FleetTracker(OFFLINE_AFTER_S)
        changes = tracker.observe("west-1", DeviceKind.ASIC, [asic("a1"), asic("a2")], T0)
        tracker.observe("west-1", DeviceKind.ASIC, [asic("a2")], at(400))
        changes += tracker.expire("west-1", at(400))
        return [c.event_id for c in changes]

    first = run()
    assert first == run()
    assert len(set(first)) == len(first) == 3


def test_restored_device_is_not_discovered_again():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    state = DeviceState("west-1", DeviceKind.ASIC, "S21", DeviceStatus.ONLINE, T0)
    tracker.restore("a1", DeviceState.from_dict(state.to_dict()))
    assert tracker.observe("west-1", DeviceKind.ASIC, [asic("a1")], at(60)) == []
    assert tracker.devices["a1"] == DeviceState("west-1", DeviceKind.ASIC, "S21", DeviceStatus.ONLINE, at(60))


def test_gpu_telemetry_read_ahead_does_not_make_asics_look_silent():
    tracker = FleetTracker(OFFLINE_AFTER_S)
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a1")], T0)
    # The GPU topic is consumed far ahead of the ASIC topic: the ASICs have not been heard of yet, not silent.
    tracker.observe("west-1", DeviceKind.GPU, [gpu("g1")], at(10 * OFFLINE_AFTER_S))
    assert tracker.expire("west-1", at(10 * OFFLINE_AFTER_S)) == []
    tracker.observe("west-1", DeviceKind.ASIC, [asic("a2")], at(OFFLINE_AFTER_S + 1))
    [change] = tracker.expire("west-1", at(OFFLINE_AFTER_S + 1))
    assert change.device_id == "a1"


class CountingStates(dict):
    """The tracker's device states, counting lookups: how many devices a call looked at."""

    lookups = 0

    def __getitem__(self, key):
        self.lookups += 1
        return super().__getitem__(key)


def test_a_kind_whose_clock_lags_is_not_rescanned_on_every_poll_of_the_other():
    # The ingest worker calls expire on every poll. With GPU telemetry ahead of the ASICs by more than the
    # limit, each GPU poll used to rescan every ASIC of the site (10,000 at a large site) and find none silent.
    tracker = FleetTracker(OFFLINE_AFTER_S)
    asics = [asic(f"a{i}") for i in range(200)]
    tracker.observe("west-1", DeviceKind.ASIC, asics, T0)
    tracker._states = CountingStates(tracker._states)
    for k in range(1, 6):
        now = at(k * 2 * OFFLINE_AFTER_S)
        tracker.observe("west-1", DeviceKind.GPU, [gpu("g1")], now)
        assert tracker.expire("west-1", now) == []
    assert tracker._states.lookups <= 5  # the one GPU, at most once a poll; no ASIC
    # When the ASIC clock itself passes the limit, the silent ASICs do go offline, and only they.
    tracker.observe("west-1", DeviceKind.ASIC, asics[:150], at(OFFLINE_AFTER_S + 1))
    changes = tracker.expire("west-1", at(20 * OFFLINE_AFTER_S))
    assert sorted(c.device_id for c in changes) == sorted(a.device_id for a in asics[150:])
    assert all(c.device_kind is DeviceKind.ASIC for c in changes)
