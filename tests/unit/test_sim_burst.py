from datetime import timedelta

import pytest

from hcp.allocation import GpuClass, GpuDemand
from hcp.economics import ASIC_MODELS, GPU_MODELS, PowerState
from hcp.fleet import load_fleet
from hcp.records import PriceKind, PriceTick, QosClass, WorkloadRequest
from hcp.settings import SimulatorSettings
from simulators.burst import (
    BURST_ARRIVAL_WINDOW,
    BURST_DELAY,
    BURST_RUN_S,
    SHORT_LOOP_HOURS,
    SHORT_LOOP_START,
    plan_burst,
)
from simulators.clock import simulation_steps
from simulators.gpu import IDLE_POWER_FRACTION
from simulators.simulation import FleetSimulation

DEFAULT = SimulatorSettings()


def asic_normal_mw(site) -> float:
    return sum(ASIC_MODELS[g.model].power_at(PowerState.NORMAL) * g.count for g in site.asics) / 1e6


def site_mw_per_gpu(gpu_type: str) -> float:
    return GpuDemand("probe", GpuClass.BEST_EFFORT, GPU_MODELS[gpu_type], 1, 1.0).mw_per_gpu


def records_of(sim: SimulatorSettings) -> list:
    """What the demo fleet's simulation sends, without ASIC telemetry (which the burst and prices do not need)."""
    fleet = load_fleet()
    without_asics = fleet.model_copy(update={"sites": tuple(s.model_copy(update={"asics": ()}) for s in fleet.sites)})
    world = FleetSimulation(sim, without_asics)
    return [r for now in simulation_steps(sim.start, sim.hours, sim.telemetry_interval_s) for r in world.step(now)]


def test_burst_asks_for_one_sites_gpus_soon_after_the_start():
    fleet = load_fleet()
    burst = plan_burst(fleet, DEFAULT.start, DEFAULT.seed)
    assert burst is not None
    holders = {site.site_id for site in fleet.sites if any(g.model == burst.gpu_type for g in site.gpus)}
    assert holders == {burst.site_id}, "only the burst's site has GPUs of its type"
    assert {r.gpu_type for r in burst.requests} == {burst.gpu_type}
    installed = sum(g.count for g in fleet.site(burst.site_id).gpus if g.model == burst.gpu_type)
    assert 0.5 * installed < burst.gpus <= installed
    assert DEFAULT.start + BURST_DELAY == burst.first_arrival
    assert burst.last_arrival <= DEFAULT.start + BURST_DELAY + BURST_ARRIVAL_WINDOW
    assert burst.ends <= burst.last_arrival + timedelta(seconds=BURST_RUN_S[1])
    assert burst.ends - burst.first_arrival <= timedelta(hours=2)


def test_burst_mixes_protected_latency_sensitive_and_preemptible_best_effort_jobs():
    burst = plan_burst(load_fleet(), DEFAULT.start, DEFAULT.seed)
    ls = [r for r in burst.requests if r.qos_class is QosClass.LS]
    be = [r for r in burst.requests if r.qos_class is QosClass.BE]
    assert len(ls) + len(be) == len(burst.requests)
    assert ls and all(not r.preemptible and r.priority >= 7 for r in ls)
    assert be and all(r.preemptible and r.priority <= 3 for r in be)
    assert len({r.job_id for r in burst.requests}) == len(burst.requests)


def test_demo_fleet_fits_its_asics_and_idle_gpus_but_not_the_burst_under_the_cap():
    fleet = load_fleet()
    burst = plan_burst(fleet, DEFAULT.start, DEFAULT.seed)
    site = fleet.site(burst.site_id)
    gpus = sum(g.count for g in site.gpus)
    idle_mw = sum(IDLE_POWER_FRACTION * site_mw_per_gpu(g.model) * g.count for g in site.gpus)
    assert asic_normal_mw(site) + idle_mw < site.power_cap_mw
    burst_mw = burst.gpus * site_mw_per_gpu(burst.gpu_type)
    assert asic_normal_mw(site) + burst_mw > site.power_cap_mw
    assert gpus >= 200, "the burst site needs a few hundred GPUs for the burst to matter"


@pytest.mark.parametrize(
    ("sim", "spike_in_run"),
    [
        (SimulatorSettings(hours=1), False),
        (SimulatorSettings(start=SHORT_LOOP_START, hours=SHORT_LOOP_HOURS), True),
    ],
    ids=["default-start", "short-loop"],
)
def test_burst_arrives_when_documented_and_the_short_loop_also_holds_the_price_spike(sim, spike_in_run):
    records = records_of(sim)
    burst_jobs = [r for r in records if isinstance(r, WorkloadRequest) and r.job_id.startswith("burst-")]
    first = sim.start + BURST_DELAY
    assert burst_jobs and {r.job_id for r in burst_jobs} == {
        r.job_id for r in plan_burst(load_fleet(), sim.start, sim.seed).requests
    }
    assert all(first <= r.event_time <= first + BURST_ARRIVAL_WINDOW for r in burst_jobs)
    rt = [r for r in records if isinstance(r, PriceTick) and r.kind is PriceKind.ENERGY_RT]
    spiked = [r for r in rt if r.value >= 1000]
    assert bool(spiked) is spike_in_run
    if spike_in_run:
        latest_burst_end = max(r.event_time + timedelta(seconds=r.expected_duration_s) for r in burst_jobs)
        assert min(r.interval_start for r in spiked) >= latest_burst_end, "the two effects must not overlap"


def test_burst_can_be_switched_off():
    records = records_of(SimulatorSettings(hours=1, ai_burst=False))
    assert not [r for r in records if isinstance(r, WorkloadRequest) and r.job_id.startswith("burst-")]
