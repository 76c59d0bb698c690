from datetime import UTC, datetime, timedelta

import pytest

from hcp.codec import decode_record
from hcp.economics import PowerState
from hcp.exceptions import ConfigError
from hcp.fleet import Customer, DeviceGroup, Fleet, Site, load_fleet
from hcp.records import AsicTelemetry, CommandKind, ControlCommand, GpuTelemetry, PriceTick, WorkloadRequest
from hcp.settings import SimulatorSettings
from hcp.topics import TOPICS
from simulators.clock import simulation_steps
from simulators.simulation import FleetSimulation, fleet_nodes, record_key

START = datetime(2023, 1, 16, tzinfo=UTC)


def small_fleet() -> Fleet:
    sites = (
        Site(
            site_id="s1",
            node="HB_WEST",
            power_cap_mw=1,
            asics=(DeviceGroup(model="S21", count=6), DeviceGroup(model="S19j Pro", count=4)),
            gpus=(DeviceGroup(model="H100", count=8),),
            collector_size=5,
        ),
        Site(site_id="s2", node="HB_NORTH", power_cap_mw=1, asics=(DeviceGroup(model="S19 XP", count=3),)),
    )
    return Fleet(sites=sites, customers=(Customer(customer_id="c1"), Customer(customer_id="c2", share=2)))


def settings(**overrides: object) -> SimulatorSettings:
    return SimulatorSettings(start=START, seed=overrides.pop("seed", 7), jobs_per_hour=60, **overrides)


def run(seed: int, hours: float = 2.0, fleet: Fleet | None = None) -> list:
    world = FleetSimulation(settings(seed=seed), fleet or small_fleet())
    return [record for now in simulation_steps(START, hours, 60) for record in world.step(now)]


def command(site_id: str = "s1", **target: object) -> ControlCommand:
    return ControlCommand(
        event_id="cmd-1",
        event_time=START,
        command_id="cmd-1",
        decision_id="dec-1",
        site_id=site_id,
        kind=CommandKind.SET_POWER_STATE,
        power_state=PowerState.SLEEP,
        **target,
    )


def test_same_seed_gives_identical_events():
    first, second, other = run(3), run(3), run(4)
    assert [r.to_json() for r in first] == [r.to_json() for r in second]
    assert [r.to_json() for r in first] != [r.to_json() for r in other]


def test_every_record_produced_validates_on_its_topic():
    records = run(5)
    kinds = {type(r) for r in records}
    assert kinds == {AsicTelemetry, GpuTelemetry, PriceTick, WorkloadRequest}
    for record in records:
        assert decode_record(record.topic, record.to_json()) == record
    assert len({(r.topic, r.event_id) for r in records}) == len(records), "event ids must be unique per topic"


def test_record_keys_follow_the_topic_contracts():
    for record in run(5, hours=0.5):
        key = record_key(record)
        assert TOPICS[record.topic].record is type(record)
        if isinstance(record, PriceTick):
            assert key.startswith(f"{record.kind.value}:")
        elif isinstance(record, WorkloadRequest):
            assert key == record.customer_id
        else:
            assert key == record.site_id


def gpu_readings(records: list) -> list:
    return [g for r in records if isinstance(r, GpuTelemetry) for g in r.readings]


def job_command(kind: CommandKind, job_id: str, **fields: object) -> ControlCommand:
    return ControlCommand(
        event_id=f"{kind.value}-{job_id}",
        event_time=START,
        command_id=f"{kind.value}-{job_id}",
        decision_id=f"d-{job_id}",
        site_id="s1",
        kind=kind,
        job_id=job_id,
        **fields,
    )


def test_locally_scheduled_jobs_run_on_the_gpus():
    world = FleetSimulation(settings(seed=8, gpu_scheduler="local"), small_fleet())
    records = [record for now in simulation_steps(START, 3, 60) for record in world.step(now)]
    job_ids = {r.job_id for r in records if isinstance(r, WorkloadRequest) and r.gpu_type == "H100"}
    running = {g.job_id for g in gpu_readings(records) if g.job_id}
    assert job_ids and running and running <= job_ids


def test_with_the_platform_scheduling_gpus_run_only_placed_jobs_until_their_time_is_up():
    world = FleetSimulation(settings(seed=8), small_fleet())
    records = [record for now in simulation_steps(START, 1, 60) for record in world.step(now)]
    assert any(isinstance(r, WorkloadRequest) for r in records), "requests are still submitted"
    assert not any(g.job_id for g in gpu_readings(records))
    now = START + timedelta(hours=1)
    place = job_command(
        CommandKind.PLACE_JOB, "j1", customer_id="c2", priority=5, node_id="s1-h100-n001", gpu_count=2, run_seconds=600
    ).model_copy(update={"event_time": now})
    assert world.apply_command(place.to_json(), now) is not None
    running = [g for g in gpu_readings(world.step(now)) if g.job_id == "j1"]
    assert len(running) == 2 and all(g.customer_id == "c2" and g.priority == 5 for g in running)
    assert not any(g.job_id for g in gpu_readings(world.step(now + timedelta(seconds=600))))


def test_preempt_command_frees_the_jobs_gpus_and_a_second_one_is_refused():
    world = FleetSimulation(settings(), small_fleet())
    place = job_command(CommandKind.PLACE_JOB, "j1", node_id="s1-h100-n001", gpu_count=8, run_seconds=3600)
    preempt = job_command(CommandKind.PREEMPT_JOB, "j1")
    assert world.apply_command(place.to_json(), START) is not None
    assert world.apply_command(place.to_json(), START) is None, "its GPUs are taken"
    assert world.apply_command(preempt.to_json(), START + timedelta(minutes=5)) is not None
    assert not any(g.job_id for g in gpu_readings(world.step(START + timedelta(minutes=5))))
    assert world.apply_command(preempt.to_json(), START + timedelta(minutes=6)) is None


def test_a_placed_job_runs_from_its_decision_time_so_site_and_platform_agree_when_gpus_free():
    world = FleetSimulation(settings(seed=8), small_fleet())
    decided = START + timedelta(hours=1)
    place = job_command(
        CommandKind.PLACE_JOB, "j1", node_id="s1-h100-n001", gpu_count=8, run_seconds=600
    ).model_copy(update={"event_time": decided})
    # The command reaches the site 4 minutes after the decision: the job still ends 10 minutes after the decision.
    assert world.apply_command(place.to_json(), decided + timedelta(minutes=4)) is not None
    assert any(g.job_id == "j1" for g in gpu_readings(world.step(decided + timedelta(minutes=9))))
    assert not any(g.job_id for g in gpu_readings(world.step(decided + timedelta(minutes=10))))


def test_local_scheduling_refuses_the_platforms_job_commands():
    world = FleetSimulation(settings(gpu_scheduler="local"), small_fleet())
    place = job_command(CommandKind.PLACE_JOB, "j1", node_id="s1-h100-n001", gpu_count=1, run_seconds=60)
    assert world.apply_command(place.to_json(), START) is None


def test_power_mix_command_shows_in_telemetry_after_the_ramp():
    world = FleetSimulation(settings(ramp_delay_s=120), small_fleet())
    mix = command(asic_model="S21").model_copy(
        update={"kind": CommandKind.SET_POWER_MIX, "power_state": None, "state_counts": {PowerState.LOW: 6}}
    )
    assert world.apply_command(mix.to_json(), START) is not None
    later = world.step(START + timedelta(minutes=3))
    s21 = [r for m in later if isinstance(m, AsicTelemetry) for r in m.readings if r.model == "S21"]
    assert s21 and all(r.power_state is PowerState.LOW for r in s21)


def test_applied_command_shows_in_telemetry_after_the_ramp():
    world = FleetSimulation(settings(ramp_delay_s=120), small_fleet())
    assert world.apply_command(command(asic_model="S21").to_json(), START) is not None
    world.step(START)
    later = world.step(START + timedelta(minutes=3))
    s21 = [r for m in later if isinstance(m, AsicTelemetry) for r in m.readings if r.model == "S21"]
    assert s21 and all(r.power_state is PowerState.SLEEP and r.hashrate_th == 0 for r in s21)


@pytest.mark.parametrize(
    "payload",
    [b"{not json", None, b'{"event_id": "x"}', command(site_id="nowhere", asic_model="S21").to_json()],
)
def test_invalid_commands_are_rejected_without_raising(payload):
    world = FleetSimulation(settings(), small_fleet())
    assert world.apply_command(payload, START) is None


def test_replay_without_price_files_is_a_config_error():
    with pytest.raises(ConfigError, match="HCP_SIM_RT_PRICES_FILE"):
        FleetSimulation(settings(market_source="replay"), small_fleet())


def test_demo_fleet_nodes_are_listed_once_in_fleet_order():
    assert fleet_nodes(load_fleet()) == ["HB_WEST", "LZ_WEST", "HB_NORTH"]
