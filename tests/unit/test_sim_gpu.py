from datetime import UTC, datetime, timedelta

import numpy as np

from hcp.fleet import Customer, DeviceGroup, Fleet, Site
from hcp.records import QosClass, WorkloadRequest
from simulators.gpu import GpuFleetSimulator

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


def simulator(the_fleet: Fleet) -> GpuFleetSimulator:
    return GpuFleetSimulator(the_fleet, 60, np.random.default_rng(1))


def readings(sim: GpuFleetSimulator, now: datetime) -> dict:
    return {r.device_id: r for msg in sim.poll(now) for r in msg.readings}


def test_higher_priority_job_runs_first_when_gpus_free_up():
    sim = simulator(fleet(("s1", {"H100": 4})))
    sim.submit(job("running", gpus=4, duration_s=600), START)
    sim.submit(job("low", priority=1, gpus=4), START + timedelta(seconds=10))
    sim.submit(job("high", priority=8, gpus=4), START + timedelta(seconds=20))
    assert set(sim.running) == {"running"}
    now = START + timedelta(seconds=600)
    by_device = readings(sim, now)
    assert set(sim.running) == {"high"}
    assert sim.queued_job_ids == ["low"]
    assert {r.job_id for r in by_device.values()} == {"high"}
    assert {r.priority for r in by_device.values()} == {8}


def test_gpus_are_freed_when_a_job_ends():
    sim = simulator(fleet(("s1", {"H100": 4})))
    sim.submit(job("short", gpus=2, duration_s=300), START)
    busy = readings(sim, START + timedelta(seconds=299))
    on_job = [r for r in busy.values() if r.job_id == "short"]
    assert len(on_job) == 2
    assert all(r.utilisation_pct > 80 and r.customer_id == "c1" and r.memory_used_gib > 30 for r in on_job)
    idle = readings(sim, START + timedelta(seconds=300))
    assert sim.finished == ["short"] and not sim.running
    assert all(r.job_id is None and r.utilisation_pct < 5 for r in idle.values())
    assert max(r.power_w for r in idle.values()) < min(r.power_w for r in on_job)


def test_jobs_are_placed_first_fit_by_gpu_type_across_sites():
    sim = simulator(fleet(("s1", {"H100": 2}), ("s2", {"H100": 2, "A100": 2})))
    for name in ("a", "b"):
        sim.submit(job(name, gpus=2), START)
    sim.submit(job("c", gpus=1, gpu_type="A100"), START)
    assert sim.devices_of("a") == ("s1-h100-0001", "s1-h100-0002")
    assert sim.devices_of("b") == ("s2-h100-0001", "s2-h100-0002")
    assert sim.devices_of("c") == ("s2-a100-0001",)


def test_job_no_site_can_hold_is_rejected():
    sim = simulator(fleet(("s1", {"H100": 2}), ("s2", {"H100": 2})))
    assert not sim.submit(job("huge", gpus=4), START)
    assert not sim.submit(job("wrong-type", gpu_type="L40S"), START)
    assert sim.rejected == ["huge", "wrong-type"]
    assert not sim.queued_job_ids and not sim.running


def test_one_message_per_collector_with_every_gpu():
    messages = simulator(fleet(("s1", {"H100": 3}))).poll(START)
    assert [m.collector_id for m in messages] == ["s1-gpu-c01", "s1-gpu-c02"]
    assert sum(len(m.readings) for m in messages) == 3
    assert messages[0].event_id == f"s1-gpu-c01:{int(START.timestamp())}"
