from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import simulators.asic as asic_module
from hcp.economics import ASIC_MODELS, PowerState
from hcp.fleet import Customer, DeviceGroup, Fleet, Site
from hcp.records import CommandKind, ControlCommand
from simulators.asic import STAGGER_MAX_S, AsicFleetSimulator
from simulators.exceptions import UnknownTargetError
from simulators.power_mix import assign_power_mix

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


def mix(asic_model: str = "S21", **counts: int) -> ControlCommand:
    return ControlCommand(
        event_id="mix-1",
        event_time=START,
        command_id="mix-1",
        decision_id="dec-1",
        site_id="s1",
        kind=CommandKind.SET_POWER_MIX,
        asic_model=asic_model,
        state_counts={PowerState(state): count for state, count in counts.items()},
    )


def states_of(sim: AsicFleetSimulator, model: str = "S21") -> list[PowerState]:
    return [sim.power_state(d) for d in sim.device_ids if d.startswith(f"s1-{model.lower().replace(' ', '')}-")]


def test_power_mix_takes_the_commanded_counts_after_the_ramp_delay():
    sim = simulator()  # S21 devices span two collectors
    moved = sim.apply(mix(high=1, normal=1, low=2, sleep=1), START)
    assert moved == 4
    before = readings_by_device(sim, START + timedelta(seconds=RAMP_S - 1))
    assert all(r.power_state is PowerState.NORMAL for r in before.values())
    after = readings_by_device(sim, START + timedelta(seconds=RAMP_S + STAGGER_MAX_S))
    s21 = Counter(r.power_state for r in after.values() if r.model == "S21")
    assert s21 == Counter({PowerState.HIGH: 1, PowerState.NORMAL: 1, PowerState.LOW: 2, PowerState.SLEEP: 1})
    assert all(r.power_state is PowerState.NORMAL for r in after.values() if r.model == "S19 XP")
    sleeping = [r for r in after.values() if r.power_state is PowerState.SLEEP]
    assert all(r.hashrate_th == 0 for r in sleeping)


def test_power_mix_gives_higher_states_to_lower_device_numbers():
    sim = simulator()
    sim.apply(mix(high=2, sleep=3), START)
    readings_by_device(sim, START + timedelta(seconds=RAMP_S + STAGGER_MAX_S))
    assert states_of(sim) == [PowerState.HIGH] * 2 + [PowerState.SLEEP] * 3


def test_power_mix_moves_as_few_devices_as_possible():
    sim = simulator()
    sim.apply(mix(normal=3, sleep=2), START)
    settled = START + timedelta(seconds=RAMP_S + STAGGER_MAX_S)
    readings_by_device(sim, settled)
    first = states_of(sim)
    assert sim.apply(mix(normal=2, low=1, sleep=2), settled) == 1
    readings_by_device(sim, settled + timedelta(seconds=RAMP_S + STAGGER_MAX_S))
    second = states_of(sim)
    assert sum(a is not b for a, b in zip(first, second, strict=True)) == 1
    assert Counter(second) == Counter({PowerState.NORMAL: 2, PowerState.LOW: 1, PowerState.SLEEP: 2})
    assert sim.apply(mix(normal=2, low=1, sleep=2), settled) == 0


def test_power_mix_whose_counts_miss_devices_is_refused():
    sim = simulator()
    with pytest.raises(UnknownTargetError, match="do not add up"):
        sim.apply(mix(normal=3, sleep=1), START)
    assert all(s is PowerState.NORMAL for s in states_of(sim))


@pytest.mark.parametrize("seed", range(20))
def test_assigned_mix_has_the_wanted_counts_and_moves_only_the_surplus(seed):
    rng = np.random.default_rng(seed)
    current = rng.integers(0, 4, size=int(rng.integers(1, 40)))
    wanted = np.bincount(rng.integers(0, 4, size=len(current)), minlength=4)
    assigned = assign_power_mix(current, wanted)
    assert np.bincount(assigned, minlength=4).tolist() == wanted.tolist()
    least_moves = len(current) - int(np.minimum(np.bincount(current, minlength=4), wanted).sum())
    assert int((assigned != current).sum()) == least_moves
