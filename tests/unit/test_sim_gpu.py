from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hcp.fleet import Customer, DeviceGroup, Fleet, Site, gpu_nodes
from hcp.records import CommandKind, ControlCommand, QosClass, WorkloadRequest
from simulators.exceptions import TargetBusyError, UnknownTargetError
from simulators.gpu import GpuFleetSimulator
from simulators.scheduler import LocalScheduler

START = datetime(2023, 1, 16, tzinfo=UTC)


def fleet(*sites: tuple[str, dict[str, int]]) -> Fleet:
    return Fleet(
        sites=tuple(
            Site(
                site_id=site_id,
                node="HB_WEST",
                power_cap_mw=1.0,
                gpus=tuple(DeviceGroup(model=m, count=n) for m, n in gpus.items()),
                collector_size=2,
            )
            for site_id, gpus in sites
        ),
        customers=(Customer(customer_id="c1"),),
    )


def job(job_id: str, priority: int = 3, gpus: int = 1, duration_s: float = 600, gpu_type: str = "H100"):
    return WorkloadRequest(
        event_id=job_id,
        event_time=START,
        job_id=job_id,
        customer_id="c1",
        gpu_type=gpu_type,
        gpu_count=gpus,
        priority=priority,
        qos_class=QosClass.BE,
        preemptible=True,
        expected_duration_s=duration_s,
    )


def place(job_id: str, node_id: str, gpus: int = 1, run_s: float = 600, site_id: str = "s1", priority: int = 8):
    return ControlCommand(
        event_id=f"place-{job_id}",
        event_time=START,
        command_id=f"place-{job_id}",
        decision_id=f"d-{job_id}",
        site_id=site_id,
        kind=CommandKind.PLACE_JOB,
        job_id=job_id,
        customer_id="c1",
        priority=priority,
        node_id=node_id,
        gpu_count=gpus,
        run_seconds=run_s,
    )


def preempt(job_id: str, site_id: str = "s1"):
    return ControlCommand(
        event_id=f"preempt-{job_id}",
        event_time=START,
        command_id=f"preempt-{job_id}",
        decision_id=f"d-{job_id}",
        site_id=site_id,
        kind=CommandKind.PREEMPT_JOB,
        job_id=job_id,
    )


def simulator(the_fleet: Fleet) -> GpuFleetSimulator:
    return GpuFleetSimulator(the_fleet, 60, np.random.default_rng(1))


def readings(sim: GpuFleetSimulator, now: datetime) -> dict:
    return {r.device_id: r for msg in sim.poll(now) for r in msg.readings}


def node_ids(the_fleet: Fleet, site_id: str = "s1") -> list[str]:
    return [node.node_id for node in gpu_nodes(the_fleet.site(site_id))]


def test_placed_job_runs_on_free_gpus_of_its_node_and_shows_in_telemetry():
    the_fleet = fleet(("s1", {"H100": 16}))
    sim = simulator(the_fleet)
    first, second = gpu_nodes(the_fleet.site("s1"))
    devices = sim.place(place("j1", second.node_id, gpus=3), START)
    assert devices == second.device_ids[:3]
    by_device = readings(sim, START + timedelta(seconds=60))
    on_job = [r for r in by_device.values() if r.job_id == "j1"]
    assert sorted(r.device_id for r in on_job) == sorted(devices)
    assert all(r.utilisation_pct > 80 and r.customer_id == "c1" and r.priority == 8 for r in on_job)
    idle = [r for r in by_device.values() if r.job_id is None]
    assert len(idle) == 13 and all(r.utilisation_pct < 5 for r in idle)
    assert sim.free_gpus(second.node_id) == second.device_ids[3:]
    assert sim.free_gpus(first.node_id) == first.device_ids


def test_placed_job_ends_after_its_run_seconds_and_frees_its_gpus():
    the_fleet = fleet(("s1", {"H100": 8}))
    sim = simulator(the_fleet)
    node = node_ids(the_fleet)[0]
    sim.place(place("short", node, gpus=8, run_s=300), START)
    busy = readings(sim, START + timedelta(seconds=299))
    assert all(r.job_id == "short" for r in busy.values())
    idle = readings(sim, START + timedelta(seconds=300))
    assert sim.finished == ["short"] and not sim.running
    assert all(r.job_id is None and r.utilisation_pct < 5 for r in idle.values())
    assert max(r.power_w for r in idle.values()) < min(r.power_w for r in busy.values())
    assert len(sim.free_gpus(node)) == 8


def test_preempted_job_stops_at_once_and_its_gpus_take_new_work():
    the_fleet = fleet(("s1", {"H100": 8}))
    sim = simulator(the_fleet)
    node = node_ids(the_fleet)[0]
    sim.place(place("low", node, gpus=8, run_s=3600, priority=1), START)
    with pytest.raises(TargetBusyError):
        sim.place(place("high", node, gpus=4), START + timedelta(seconds=60))
    freed = sim.preempt(preempt("low"), START + timedelta(seconds=120))
    assert len(freed) == 8 and sim.preempted == ["low"] and "low" not in sim.running
    assert all(r.job_id is None for r in readings(sim, START + timedelta(seconds=120)).values())
    sim.place(place("high", node, gpus=4), START + timedelta(seconds=120))
    later = readings(sim, START + timedelta(seconds=180))
    assert {r.job_id for r in later.values()} == {"high", None}


@pytest.mark.parametrize(
    "command",
    [
        place("x", "s1-h100-n009"),  # no such node
        place("x", "s1-h100-n001", site_id="s2"),  # node of another site
    ],
)
def test_placement_on_an_unknown_node_is_refused(command):
    sim = simulator(fleet(("s1", {"H100": 8}), ("s2", {"A100": 8})))
    with pytest.raises(UnknownTargetError):
        sim.place(command, START)
    assert not sim.running


def test_the_same_job_cannot_be_placed_twice_nor_preempted_when_not_running():
    the_fleet = fleet(("s1", {"H100": 16}))
    sim = simulator(the_fleet)
    first, second = node_ids(the_fleet)
    sim.place(place("j1", first, run_s=60), START)
    with pytest.raises(TargetBusyError):
        sim.place(place("j1", second), START)
    with pytest.raises(TargetBusyError):
        sim.preempt(preempt("j1", site_id="s2"), START)
    sim.release_finished(START + timedelta(seconds=60))
    with pytest.raises(TargetBusyError):
        sim.preempt(preempt("j1"), START + timedelta(seconds=60))


def test_local_scheduler_runs_the_higher_priority_job_first_when_gpus_free_up():
    sim = simulator(fleet(("s1", {"H100": 4})))
    scheduler = LocalScheduler(sim)
    scheduler.submit(job("running", gpus=4, duration_s=600), START)
    scheduler.submit(job("low", priority=1, gpus=4), START + timedelta(seconds=10))
    scheduler.submit(job("high", priority=8, gpus=4), START + timedelta(seconds=20))
    assert set(sim.running) == {"running"}
    now = START + timedelta(seconds=600)
    sim.release_finished(now)
    scheduler.place_queued(now)
    by_device = readings(sim, now)
    assert set(sim.running) == {"high"}
    assert scheduler.queued_job_ids == ["low"]
    assert {r.job_id for r in by_device.values()} == {"high"}
    assert {r.priority for r in by_device.values()} == {8}


def test_local_scheduler_places_first_fit_by_gpu_type_across_sites():
    sim = simulator(fleet(("s1", {"H100": 2}), ("s2", {"H100": 2, "A100": 2})))
    scheduler = LocalScheduler(sim)
    for name in ("a", "b"):
        scheduler.submit(job(name, gpus=2), START)
    scheduler.submit(job("c", gpus=1, gpu_type="A100"), START)
    assert sim.devices_of("a") == ("s1-h100-0001", "s1-h100-0002")
    assert sim.devices_of("b") == ("s2-h100-0001", "s2-h100-0002")
    assert sim.devices_of("c") == ("s2-a100-0001",)


def test_local_scheduler_rejects_a_job_no_site_can_hold():
    sim = simulator(fleet(("s1", {"H100": 2}), ("s2", {"H100": 2})))
    scheduler = LocalScheduler(sim)
    assert not scheduler.submit(job("huge", gpus=4), START)
    assert not scheduler.submit(job("wrong-type", gpu_type="L40S"), START)
    assert scheduler.rejected == ["huge", "wrong-type"]
    assert not scheduler.queued_job_ids and not sim.running


def test_one_message_per_collector_with_every_gpu():
    messages = simulator(fleet(("s1", {"H100": 3}))).poll(START)
    assert [m.collector_id for m in messages] == ["s1-gpu-c01", "s1-gpu-c02"]
    assert sum(len(m.readings) for m in messages) == 3
    assert messages[0].event_id == f"s1-gpu-c01:{int(START.timestamp())}"
