"""Demo fault injection: each scheduled fault shows in the records of its window and only there."""

from __future__ import annotations

from datetime import timedelta

from hcp.fleet import load_fleet
from hcp.records import AsicTelemetry, GpuTelemetry, PriceKind, PriceTick
from hcp.settings import SimulatorSettings
from simulators.faults import OVERHEAT_CHIP_C, Fault, FaultSettings
from simulators.simulation import FleetSimulation

FAULTS = (
    Fault(kind="asic_overheat", at_s=120, duration_s=120, device_id="west-1-s21-0001"),
    Fault(kind="gpu_offline", at_s=120, duration_s=120, device_id="west-2-a100-0001"),
    Fault(kind="price_spike", at_s=0, duration_s=900, node="HB_WEST", value=3000.0),
)


def steps(world: FleetSimulation, sim: SimulatorSettings, count: int) -> list[list]:
    return [world.step(sim.start + timedelta(seconds=60 * k)) for k in range(count)]


def test_faults_apply_in_their_window_and_clear_after() -> None:
    sim = SimulatorSettings(hours=1, jobs_per_hour=0, ai_burst=False)
    world = FleetSimulation(sim, load_fleet(), FAULTS)
    by_step = steps(world, sim, 17)

    def chip(step: int) -> float:
        readings = [r for m in by_step[step] if isinstance(m, AsicTelemetry) for r in m.readings]
        return next(r.temp_chip_c for r in readings if r.device_id == "west-1-s21-0001")

    def gpu_present(step: int) -> bool:
        return any(r.device_id == "west-2-a100-0001" for m in by_step[step] if isinstance(m, GpuTelemetry)
                   for r in m.readings)

    assert chip(1) < OVERHEAT_CHIP_C and chip(2) == chip(3) == OVERHEAT_CHIP_C and chip(4) < OVERHEAT_CHIP_C
    assert gpu_present(1) and not gpu_present(2) and not gpu_present(3) and gpu_present(4)
    rt = [m for step in by_step for m in step if isinstance(m, PriceTick) and m.kind is PriceKind.ENERGY_RT]
    spiked = [m for m in rt if m.node == "HB_WEST" and m.interval_start == sim.start]
    assert [m.value for m in spiked] == [3000.0]
    assert all(m.value != 3000.0 for m in rt if m.node != "HB_WEST")


def test_the_demo_schedule_has_the_four_faults_of_the_issue() -> None:
    kinds = {f.kind for f in FaultSettings().schedule}
    assert kinds == {"asic_overheat", "gpu_offline", "stuck_queue", "price_spike"}
