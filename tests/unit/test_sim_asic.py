from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import simulators.asic as asic_module
from hcp.economics import ASIC_MODELS, PowerState
from hcp.fleet import Customer, DeviceGroup, Fleet, Site
from hcp.records import CommandKind, ControlCommand
from simulators.asic import STAGGER_MAX_S, AsicFleetSimulator
from simulators.exceptions import UnknownTargetError

START = datetime(2023, 1, 16, tzinfo=UTC)
RAMP_S = 120


def small_fleet(collector_size: int = 4) -> Fleet:
    site = Site(
        site_id="s1",
        node="HB_WEST",
        power_cap_mw=1.0,
        asics=(DeviceGroup(model="S21", count=5), DeviceGroup(model="S19 XP", count=3)),
        collector_size=collector_size,
    )
    return Fleet(sites=(site,), customers=(Customer(customer_id="c1"),))


def simulator(seed: int = 3, fleet: Fleet | None = None) -> AsicFleetSimulator:
    return AsicFleetSimulator(fleet or small_fleet(), 60, RAMP_S, np.random.default_rng(seed))


def command(**target: object) -> ControlCommand:
    return ControlCommand(
        event_id="cmd-1",
        event_time=START,
        command_id="cmd-1",
        decision_id="dec-1",
        site_id=target.pop("site_id", "s1"),
        kind=CommandKind.SET_POWER_STATE,
        power_state=target.pop("power_state", PowerState.SLEEP),
        **target,
    )


def readings_by_device(sim: AsicFleetSimulator, now: datetime) -> dict:
    return {r.device_id: r for msg in sim.poll(now) for r in msg.readings}


def test_devices_are_polled_by_collectors_of_collector_size():
    messages = simulator().poll(START)
    assert [m.collector_id for m in messages] == ["s1-asic-c01", "s1-asic-c02"]
    assert [len(m.readings) for m in messages] == [4, 4]
    first = messages[0]
    assert first.readings[0].device_id == "s1-s21-0001"
    assert first.event_id == f"s1-asic-c01:{int(START.timestamp())}"
    assert first.event_time == START and first.interval_s == 60 and first.site_id == "s1"


def test_devices_start_mining_at_nameplate():
    for reading in readings_by_device(simulator(), START).values():
        model = ASIC_MODELS[reading.model]
        assert reading.power_state is PowerState.NORMAL
        assert reading.hashrate_th == pytest.approx(model.hashrate_th, rel=0.1)
        assert reading.power_w == pytest.approx(model.power_w, rel=0.05)


def test_command_takes_effect_only_after_the_ramp_delay():
    sim = simulator()
    sim.apply(command(asic_model="S21"), START)
    before = readings_by_device(sim, START + timedelta(seconds=RAMP_S - 1))
    after = readings_by_device(sim, START + timedelta(seconds=RAMP_S + STAGGER_MAX_S))
    s21_before = [r for r in before.values() if r.model == "S21"]
    s21_after = [r for r in after.values() if r.model == "S21"]
    assert s21_before and s21_after
    assert all(r.power_state is PowerState.NORMAL and r.hashrate_th > 0 for r in s21_before)
    assert all(r.power_state is PowerState.SLEEP for r in s21_after)
    assert all(r.hashrate_th == 0 for r in s21_after)
    assert all(r.power_w < 0.02 * ASIC_MODELS["S21"].power_w for r in s21_after)
    assert all(r.power_state is PowerState.NORMAL for r in after.values() if r.model == "S19 XP")


def test_power_moves_part_of_the_way_during_the_ramp():
    sim = simulator()
    sim.apply(command(asic_model="S21"), START)
    halfway = readings_by_device(sim, START + timedelta(seconds=RAMP_S / 2))
    mean_power = np.mean([r.power_w for r in halfway.values() if r.model == "S21"])
    assert 0.2 * ASIC_MODELS["S21"].power_w < mean_power < 0.8 * ASIC_MODELS["S21"].power_w


def test_command_by_device_ids_moves_only_those_devices():
    sim = simulator()
    targeted = sim.apply(command(device_ids=("s1-s21-0002", "s1-s19xp-0001"), power_state=PowerState.LOW), START)
    assert targeted == 2
    after = readings_by_device(sim, START + timedelta(seconds=RAMP_S + STAGGER_MAX_S))
    low = {d for d, r in after.items() if r.power_state is PowerState.LOW}
    assert low <= {"s1-s21-0002", "s1-s19xp-0001"}
    assert sim.power_state("s1-s21-0002") is PowerState.LOW
    assert sim.power_state("s1-s21-0001") is PowerState.NORMAL


@pytest.mark.parametrize(
    "target",
    [{"site_id": "elsewhere", "asic_model": "S21"}, {"device_ids": ("s1-s21-9999",)}, {"asic_model": "S19j Pro"}],
)
def test_command_that_targets_nothing_raises(target):
    with pytest.raises(UnknownTargetError):
        simulator().apply(command(**target), START)


def test_same_seed_gives_identical_telemetry():
    times = [START + timedelta(minutes=k) for k in range(10)]
    first, second, other = simulator(5), simulator(5), simulator(6)
    a = [m.to_json() for t in times for m in first.poll(t)]
    b = [m.to_json() for t in times for m in second.poll(t)]
    c = [m.to_json() for t in times for m in other.poll(t)]
    assert a == b
    assert a != c


def test_seeded_faults_show_in_readings_and_silent_devices_return(monkeypatch):
    fleet = small_fleet(collector_size=50)
    monkeypatch.setattr(asic_module, "FAULT_RATES_PER_HOUR", np.full(4, 40.0))
    sim = simulator(fleet=fleet)
    readings = [r for k in range(10) for m in sim.poll(START + timedelta(minutes=k)) for r in m.readings]
    assert any(r.hashboards_ok == 2 for r in readings)
    assert any(r.fan_rpm == 0 for r in readings)
    assert any(r.temp_chip_c > 100 for r in readings)
    assert len(readings) < 10 * 8, "some devices should have gone silent"
    monkeypatch.setattr(asic_module, "FAULT_RATES_PER_HOUR", np.zeros(4))
    later = readings_by_device(sim, START + timedelta(hours=7))
    assert len(later) == 8
    assert all(r.hashboards_ok == 3 and r.fan_rpm > 0 for r in later.values())
