"""Allocation rules: who gets power first, what is shed at which price, and the cap."""

import itertools
import random

import numpy as np
import pytest

from hcp.allocation import (
    AllocationError,
    AsicGroup,
    GpuClass,
    GpuDemand,
    Market,
    SiteCap,
    allocate,
    build_problem,
    gpu_class_for,
)
from hcp.economics import ASIC_MODELS, GPU_MODELS, PowerState
from hcp.records.workloads import QosClass

H100 = GPU_MODELS["H100"]
HASHPRICE = 50.0


def asic_groups(count: int = 200) -> list[AsicGroup]:
    return [AsicGroup(f"g-{name}", model, count) for name, model in ASIC_MODELS.items()]


def demand(demand_id: str, gpu_class: GpuClass, gpus: int, value: float = 2.0) -> GpuDemand:
    return GpuDemand(demand_id, gpu_class, H100, gpus, value)


def test_growing_gpu_demand_pushes_asic_power_down_monotonically():
    asic_mw = []
    for gpus in range(0, 3001, 250):
        demands = [demand("ls", GpuClass.PROTECTED, 64), demand("be", GpuClass.BEST_EFFORT, gpus)]
        allocation = allocate(build_problem(SiteCap("s", 2.4), asic_groups(), demands), Market(40.0, HASHPRICE))
        asic_mw.append(allocation.asic_mw)
    assert all(later <= earlier + 1e-12 for earlier, later in itertools.pairwise(asic_mw))
    assert asic_mw[-1] < asic_mw[0]


def test_at_a_price_spike_asics_sleep_before_any_best_effort_gpu_is_shed():
    demands = [demand("be", GpuClass.BEST_EFFORT, 100, value=1.8), demand("g", GpuClass.GUARANTEED, 50, value=3.0)]
    problem = build_problem(SiteCap("s", 10.0), asic_groups(), demands)
    shed_seen = False
    for price in np.geomspace(20, 20_000, 200):
        allocation = allocate(problem, Market(float(price), HASHPRICE))
        granted, wanted = allocation.gpus_by_class()[GpuClass.BEST_EFFORT]
        if granted < wanted:
            shed_seen = True
            assert allocation.model_levels().sum() == 0, f"ASICs still above sleep at {price:.0f} USD/MWh"
            assert price > 1.8 / demands[0].mw_per_gpu
    assert shed_seen


def test_latency_sensitive_work_is_never_shed_for_price_or_for_asics():
    demands = [demand("ls", GpuClass.PROTECTED, 500, value=0.5), demand("be", GpuClass.BEST_EFFORT, 5000, value=9.0)]
    problem = build_problem(SiteCap("s", 1.2), asic_groups(), demands)
    for price in (-10.0, 50.0, 500.0, 9_000.0):
        allocation = allocate(problem, Market(price, 300.0))
        assert allocation.gpus_by_class()[GpuClass.PROTECTED] == (500, 500)


def test_protected_work_gets_what_fits_when_it_alone_exceeds_the_cap():
    problem = build_problem(SiteCap("s", 0.5), asic_groups(10), [demand("ls", GpuClass.PROTECTED, 1000)])
    allocation = allocate(problem, Market(50.0, HASHPRICE))
    assert 0 < allocation.gpus_granted[0] < 1000
    assert allocation.total_mw <= 0.5
    assert allocation.model_levels().sum() == 0


def test_nothing_but_protected_work_runs_at_a_negative_net_value():
    demands = [demand("ls", GpuClass.PROTECTED, 10, 0.1), demand("g", GpuClass.GUARANTEED, 10, 0.1)]
    allocation = allocate(build_problem(SiteCap("s", 5.0), asic_groups(), demands), Market(1_000.0, HASHPRICE))
    granted = np.concatenate([allocation.model_levels().ravel(), allocation.gpus_granted])
    runs_at_a_loss = (granted > 0) & (allocation.options.density <= 0) & (allocation.options.tier != 0)
    assert not runs_at_a_loss.any()
    assert allocation.gpus_by_class()[GpuClass.PROTECTED] == (10, 10)


@pytest.mark.parametrize("seed", range(30))
def test_the_cap_is_never_exceeded(seed):
    rng = random.Random(seed)
    groups = [AsicGroup(f"g{i}", rng.choice(list(ASIC_MODELS.values())), rng.randint(1, 500)) for i in range(6)]
    demands = [
        GpuDemand(
            f"d{i}",
            rng.choice(list(GpuClass)),
            rng.choice(list(GPU_MODELS.values())),
            rng.randint(1, 300),
            rng.uniform(0.5, 4.0),
        )
        for i in range(5)
    ]
    cap = rng.uniform(0.5, 8.0)
    problem = build_problem(SiteCap("s", cap), groups, demands)
    allocation = allocate(problem, Market(rng.uniform(-30, 3000), rng.uniform(30, 120)))
    assert allocation.total_mw <= cap + 1e-9
    assert allocation.group_state_counts().sum(axis=1).tolist() == [g.count for g in groups]


def test_sleep_floor_above_the_cap_is_an_error():
    with pytest.raises(AllocationError, match="base state"):
        allocate(build_problem(SiteCap("s", 0.001), asic_groups(), []), Market(40.0, HASHPRICE))


def test_devices_stay_in_the_groups_already_running_when_the_model_total_allows():
    model = ASIC_MODELS["S21"]
    groups = [AsicGroup("asleep", model, 100, PowerState.SLEEP), AsicGroup("running", model, 100, PowerState.LOW)]
    cap = (200 * model.power_at(PowerState.SLEEP) + 100 * (model.power_at(PowerState.LOW) - 35)) / 1e6 + 1e-9
    problem = build_problem(SiteCap("s", cap), groups, [])
    counts = allocate(problem, Market(30.0, HASHPRICE)).group_state_counts()
    assert counts[0].tolist() == [100, 0, 0, 0]
    assert counts[1, 1] == 100 - counts[1, 0] > 90


def test_every_option_is_explained_with_its_marginal_value():
    demands = [demand("ls", GpuClass.PROTECTED, 8), demand("be", GpuClass.BEST_EFFORT, 8, value=1.0)]
    allocation = allocate(build_problem(SiteCap("s", 2.0), asic_groups(), demands), Market(5_000.0, HASHPRICE))
    reports = {report.label: report for report in allocation.explain()}
    assert len(reports) == 3 * 3 + 2
    assert "protected" in reports["protected H100 ls"].reason
    assert "loses money" in reports["best_effort H100 be"].reason
    assert reports["S21 sleep->low"].value_usd_mwh < 0


def test_workload_qos_classes_map_to_power_classes():
    assert gpu_class_for(QosClass.LS) is GpuClass.PROTECTED
    assert gpu_class_for(QosClass.BE) is GpuClass.BEST_EFFORT
