"""The site controller (pure): policy per model, allocator under the cap, router per site."""

from datetime import UTC, datetime, timedelta

from hcp.economics import ASIC_MODELS, PowerState
from hcp.fleet import Fleet
from hcp.policy import Observation, PolicyState, step
from hcp.records import CommandKind, DecisionKind, PriceKind, PriceTick, WorkloadRequest
from streams.power.controller import SiteController
from streams.power.records import mix_mw

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
HASHPRICE = 60.0
FLEET = Fleet.model_validate(
    {
        "sites": [
            {"site_id": "west-1", "node": "HB_WEST", "power_cap_mw": 0.4,
             "asics": [{"model": "S21", "count": 80}, {"model": "S19j Pro", "count": 40}],
             "gpus": [{"model": "H100", "count": 64}]},
            {"site_id": "north-1", "node": "HB_NORTH", "power_cap_mw": 0.003, "asics": [{"model": "S21", "count": 5}],
             "gpus": [{"model": "L40S", "count": 8}]},
        ],
        "customers": [{"customer_id": "acme"}],
    }
)


def price(kind, start, end, value, node=None, unit="USD/MWh", published=None):
    return PriceTick(
        event_id=f"{kind.value}:{node}:{start.isoformat()}", event_time=published or end, kind=kind, node=node,
        interval_start=start, interval_end=end, value=value, unit=unit,
    )


def hashprice():
    return price(PriceKind.HASHPRICE, T0 - timedelta(days=1), T0 - timedelta(hours=12), HASHPRICE, unit="USD/PH/day")


def rt(value, interval, node="HB_WEST"):
    start = T0 + interval * timedelta(minutes=15)
    return price(PriceKind.ENERGY_RT, start, start + timedelta(minutes=15), value, node)


def request(job_id, at, gpus=8, priority=5, qos="Guaranteed", preemptible=False, duration=3600.0, gpu_type="H100"):
    return WorkloadRequest(
        event_id=f"req:{job_id}", event_time=at, job_id=job_id, customer_id="acme", gpu_type=gpu_type,
        gpu_count=gpus, priority=priority, qos_class=qos, preemptible=preemptible, expected_duration_s=duration,
    )


def started(ticks=(30.0,)):
    controller = SiteController(FLEET)
    controller.on_price(hashprice())
    outputs = [controller.on_price(rt(value, i)) for i, value in enumerate(ticks)]
    return controller, outputs


def site_mw(controller, site_id):
    asics = sum(mix_mw(model, mix) for (site, model), mix in controller.mixes.items() if site == site_id)
    return asics + controller.jobs[site_id].running_mw()


def test_spike_curtails_every_model_from_the_next_interval_with_a_command_each():
    _, (calm, spike) = started((30.0, 900.0))
    assert {d.run_fraction for d in calm.decisions} == {1.0}
    assert {d.kind for d in spike.decisions} == {DecisionKind.POWER_MIX}
    assert {d.subject for d in spike.decisions} == {"S21", "S19j Pro"}
    assert all(d.run_fraction == 0.0 and d.interval_start == rt(900.0, 1).interval_end for d in spike.decisions)
    commands = {c.asic_model: c for c in spike.commands}
    assert {c.kind for c in commands.values()} == {CommandKind.SET_POWER_MIX}
    assert commands["S21"].state_counts[PowerState.SLEEP] == 80
    assert all(d.command_id == commands[d.subject].command_id for d in spike.decisions)


def test_live_decision_comes_from_the_same_policy_step_as_the_backtest():
    _, (_, second) = started((30.0, 100.0))
    decision = next(d for d in second.decisions if d.subject == "S21")
    observation = Observation(100.0, None, None, HASHPRICE, ASIC_MODELS["S21"].joules_per_th())
    _, _, reason = step(PolicyState(), observation)
    assert decision.reason.startswith(reason)
    assert decision.breakeven_usd_mwh == observation.breakeven


def test_burst_of_jobs_moves_asics_down_and_keeps_the_site_under_its_cap():
    controller, _ = started()
    before = site_mw(controller, "west-1")
    placed, lowered = [], []
    for k in range(8):
        out = controller.on_request(request(f"j{k}", T0 + timedelta(hours=1, seconds=k)), T0 + timedelta(hours=1))
        placed += [d for d in out.decisions if d.kind is DecisionKind.PLACEMENT and d.site_id == "west-1"]
        lowered += [c for c in out.commands if c.kind is CommandKind.SET_POWER_MIX and c.site_id == "west-1"]
        assert site_mw(controller, "west-1") <= 0.4 + 1e-9
    assert len(placed) >= 4 and lowered
    asic_after = sum(mix_mw(m, mix) for (s, m), mix in controller.mixes.items() if s == "west-1")
    assert asic_after < before


def test_placement_the_site_cannot_power_is_rejected_and_never_sent():
    controller, _ = started()
    at = T0 + timedelta(hours=1)
    out = controller.on_request(request("big", at, gpu_type="L40S"), at)  # 3.6 kW of GPUs, cap 3 kW
    [decision] = [d for d in out.decisions if d.subject == "big"]
    assert (decision.site_id, decision.kind) == ("north-1", DecisionKind.REJECTION)
    assert not [c for c in out.commands if c.job_id == "big"]


def test_latency_sensitive_jobs_are_never_preempted():
    controller, _ = started()
    at = T0 + timedelta(hours=1)
    for k in range(8):
        controller.on_request(request(f"ls{k}", at, priority=6, qos="LS", preemptible=True, duration=86400), at)
    later = at + timedelta(hours=2)
    out = controller.on_request(request("urgent", later, priority=9, qos="Guaranteed"), later)
    assert not [d for d in out.decisions if d.kind is DecisionKind.PREEMPTION]
    assert [d.kind for d in out.decisions if d.subject == "urgent"] == [DecisionKind.QUEUED]


def test_preemptible_work_makes_room_after_its_minimum_runtime():
    controller, _ = started()
    at = T0 + timedelta(hours=1)
    for k in range(8):
        controller.on_request(request(f"be{k}", at, priority=1, qos="BE", preemptible=True, duration=86400), at)
    later = at + timedelta(hours=2)
    out = controller.on_request(request("urgent", later, priority=9), later)
    kinds = {d.kind for d in out.decisions}
    assert DecisionKind.PREEMPTION in kinds and DecisionKind.PLACEMENT in kinds
    assert any(c.kind is CommandKind.PREEMPT_JOB for c in out.commands)


def test_job_ends_after_its_expected_duration_and_its_gpus_go_to_the_queue():
    controller, _ = started()
    at = T0 + timedelta(hours=1)
    for k in range(8):
        controller.on_request(request(f"j{k}", at, duration=600), at)
    out = controller.on_request(request("waiting", at), at)
    assert [d.kind for d in out.decisions if d.subject == "waiting"] == [DecisionKind.QUEUED]
    after = controller.on_price(rt(30.0, 8))  # event time 14:15, well after the first jobs' end at 13:10
    [placement] = [d for d in after.decisions if d.subject == "waiting" and d.kind is DecisionKind.PLACEMENT]
    assert placement.interval_start == at + timedelta(seconds=600)


def test_reprocessing_the_same_messages_gives_the_same_ids():
    def run():
        controller, outputs = started((30.0, 900.0))
        out = controller.on_request(request("j", T0 + timedelta(hours=1)), T0 + timedelta(hours=1))
        records = [*outputs[0].decisions, *outputs[1].decisions, *out.decisions, *out.commands]
        return [getattr(r, "decision_id", None) or r.command_id for r in records]

    assert run() == run()


def test_a_price_tick_schedules_a_busy_site_again_only_when_something_is_due(monkeypatch):
    from hcp.routing import router as router_module

    controller, _ = started()
    at = T0 + timedelta(hours=1)
    for k in range(8):
        controller.on_request(request(f"long{k}", at, duration=86400), at)
    # No room, and nothing preemptible: it waits behind them, for up to its SLA of four hours.
    controller.on_request(request("waiting", at, qos="BE", priority=1), at)
    passes = []
    schedule = router_module.Router._schedule

    def counted(self, now):
        passes.append(now)
        return schedule(self, now)

    monkeypatch.setattr(router_module.Router, "_schedule", counted)
    deadline = controller.jobs["west-1"].router.next_wakeup()
    due = int((deadline - T0) / timedelta(minutes=15))  # the interval ending at or after the deadline
    ticks = [rt(30.0, i) for i in range(4, due - 1)]  # published after the requests, before the deadline

    before = [controller.on_price(tick) for tick in ticks]
    # Nothing was due: the queued job was not tried again on the unchanged GPUs at every tick.
    assert len(before) >= 2 and all(at < t.event_time < deadline for t in ticks) and passes == []
    after = controller.on_price(rt(30.0, due))
    assert len(passes) == 1
    assert [d.kind for d in after.decisions if d.subject == "waiting"] == [DecisionKind.SLA_BREACH]
