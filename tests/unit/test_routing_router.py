"""The router's rules on small hand-made clusters."""

from datetime import UTC, datetime, timedelta

import pytest

from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass
from hcp.routing import DecisionKind, Job, Node, PlacementPolicy, Router, RouterConfig, RoutingError

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_job(job_id, gpus=1.0, priority=5, qos=QosClass.BE, preemptible=False, gpu_type=None, submitted=0.0):
    return Job(
        job_id=job_id,
        customer_id="acme",
        gpu_type=gpu_type,
        gpus=gpus,
        priority=priority,
        qos_class=qos,
        preemptible=preemptible,
        submitted_at=at(submitted),
    )


def kinds(decisions, job_id=None):
    return [d.kind for d in decisions if job_id is None or d.job.job_id == job_id]


def placed(decisions):
    return {d.job.job_id: d.node_id for d in decisions if d.kind is DecisionKind.PLACED}


def test_job_that_fits_is_placed_at_once_with_zero_wait():
    router = Router([Node("n1", "H100", 8)])
    decisions = router.submit(make_job("a", gpus=2), at(0))
    assert kinds(decisions) == [DecisionKind.PLACED]
    assert decisions[0].node_id == "n1" and decisions[0].gpus == 2 and decisions[0].queue_wait_s == 0
    assert router.allocated_gpus == 2


def test_job_that_does_not_fit_now_is_queued_with_a_reason():
    router = Router([Node("n1", "H100", 1)])
    router.submit(make_job("a"), at(0))
    decisions = router.submit(make_job("b"), at(1))
    assert kinds(decisions) == [DecisionKind.QUEUED]
    assert "free GPU" in decisions[0].reason
    assert router.queued_count == 1


def test_higher_priority_starts_first_when_capacity_frees():
    router = Router([Node("n1", "H100", 1)])
    router.submit(make_job("running"), at(0))
    router.submit(make_job("low", priority=2), at(1))
    router.submit(make_job("high", priority=8), at(2))
    router.submit(make_job("mid", priority=5), at(3))
    order = list(placed(router.finish("running", at(10))))
    order += placed(router.finish(order[-1], at(11)))
    order += placed(router.finish(order[-1], at(12)))
    assert order == ["high", "mid", "low"]


def test_same_level_is_first_in_first_out():
    router = Router([Node("n1", "H100", 1)])
    router.submit(make_job("running"), at(0))
    for i, job_id in enumerate(["first", "second", "third"]):
        router.submit(make_job(job_id, priority=4), at(1 + i))
    assert list(placed(router.finish("running", at(10)))) == ["first"]
    assert list(placed(router.finish("first", at(11)))) == ["second"]


def test_queue_drains_as_capacity_frees():
    router = Router([Node("n1", "A100", 2)])
    for i in range(5):
        router.submit(make_job(f"j{i}"), at(i))
    assert router.running_count == 2 and router.queued_count == 3
    started = placed(router.finish("j0", at(10))) | placed(router.finish("j1", at(11)))
    assert set(started) == {"j2", "j3"}
    placed(router.finish("j2", at(12)))
    assert router.queued_count == 0 and router.running_count == 2


def test_best_fit_picks_the_tightest_node_and_keeps_big_nodes_whole():
    nodes = [Node("big", "H100", 8), Node("small", "H100", 2)]
    router = Router(nodes)
    assert placed(router.submit(make_job("a", gpus=2), at(0))) == {"a": "small"}
    assert placed(router.submit(make_job("b", gpus=8), at(1))) == {"b": "big"}


def test_first_fit_takes_the_first_node_that_fits():
    nodes = [Node("big", "H100", 8), Node("small", "H100", 2)]
    router = Router(nodes, RouterConfig(placement=PlacementPolicy.FIRST_FIT))
    assert placed(router.submit(make_job("a", gpus=2), at(0))) == {"a": "big"}
    assert kinds(router.submit(make_job("b", gpus=8), at(1))) == [DecisionKind.QUEUED]


def test_gpu_shares_pack_onto_a_partly_used_gpu_first():
    router = Router([Node("n1", "T4", 2)])
    router.submit(make_job("a", gpus=0.5), at(0))
    router.submit(make_job("b", gpus=0.3), at(1))
    assert router.placement_of("a").slots.gpus == router.placement_of("b").slots.gpus
    assert kinds(router.submit(make_job("c", gpus=1), at(2))) == [DecisionKind.PLACED]
    assert kinds(router.submit(make_job("d", gpus=0.3), at(3))) == [DecisionKind.QUEUED]


def test_job_of_a_given_type_only_runs_on_that_type():
    router = Router([Node("a100", "A100", 4), Node("h100", "H100", 4)])
    assert placed(router.submit(make_job("a", gpu_type="H100"), at(0))) == {"a": "h100"}


def test_unknown_gpu_type_is_rejected_with_the_known_types():
    router = Router([Node("n1", "A100", 4)])
    decisions = router.submit(make_job("a", gpu_type="B200"), at(0))
    assert kinds(decisions) == [DecisionKind.REJECTED]
    assert "B200" in decisions[0].reason and "A100" in decisions[0].reason


def test_job_larger_than_any_node_is_rejected():
    router = Router([Node("n1", "A100", 4), Node("n2", "A100", 4)])
    decisions = router.submit(make_job("a", gpus=8), at(0))
    assert kinds(decisions) == [DecisionKind.REJECTED]
    assert "8 GPUs" in decisions[0].reason and "has 4" in decisions[0].reason
    assert router.queued_count == 0


def test_duplicate_job_id_is_rejected():
    router = Router([Node("n1", "A100", 4)])
    router.submit(make_job("a"), at(0))
    decisions = router.submit(make_job("a"), at(1))
    assert kinds(decisions) == [DecisionKind.REJECTED]
    assert "already" in decisions[0].reason


def test_higher_priority_job_preempts_preemptible_work_after_min_runtime():
    router = Router([Node("n1", "H100", 1)], RouterConfig(min_runtime_s=600))
    router.submit(make_job("batch", priority=1, preemptible=True), at(0))
    decisions = router.submit(make_job("urgent", priority=8, qos=QosClass.LS), at(700))
    assert kinds(decisions) == [DecisionKind.PREEMPTED, DecisionKind.PLACED]
    assert decisions[0].job.job_id == "batch" and "ran 700s" in decisions[0].reason
    assert router.placement_of("urgent") is not None and router.queued_count == 1


def test_no_preemption_before_min_runtime_then_at_the_wakeup():
    router = Router([Node("n1", "H100", 1)], RouterConfig(min_runtime_s=600))
    router.submit(make_job("batch", priority=1, preemptible=True), at(0))
    assert kinds(router.submit(make_job("urgent", priority=8), at(100))) == [DecisionKind.QUEUED]
    assert router.next_wakeup() == at(600)
    assert DecisionKind.PREEMPTED not in kinds(router.tick(at(599)))
    assert kinds(router.tick(at(600)), "batch") == [DecisionKind.PREEMPTED]


def test_non_preemptible_work_is_never_preempted():
    router = Router([Node("n1", "H100", 1)], RouterConfig(min_runtime_s=0))
    router.submit(make_job("steady", priority=1, preemptible=False), at(0))
    assert kinds(router.submit(make_job("urgent", priority=9), at(1000))) == [DecisionKind.QUEUED]
    assert DecisionKind.PREEMPTED not in kinds(router.tick(at(5000)))


def test_equal_or_higher_priority_work_is_never_preempted():
    router = Router([Node("n1", "H100", 1)], RouterConfig(min_runtime_s=0))
    router.submit(make_job("peer", priority=5, preemptible=True), at(0))
    assert kinds(router.submit(make_job("other", priority=5), at(10))) == [DecisionKind.QUEUED]


def test_protected_latency_sensitive_job_is_never_preempted_but_lower_ls_is():
    config = RouterConfig(min_runtime_s=0, ls_protected_priority=5)
    router = Router([Node("n1", "H100", 1), Node("n2", "H100", 1)], config)
    router.submit(make_job("ls-protected", priority=6, qos=QosClass.LS, preemptible=True), at(0))
    router.submit(make_job("ls-low", priority=3, qos=QosClass.LS, preemptible=True), at(0))
    first = router.submit(make_job("top-1", priority=9), at(10))
    second = router.submit(make_job("top-2", priority=9), at(11))
    assert [d.job.job_id for d in first if d.kind is DecisionKind.PREEMPTED] == ["ls-low"]
    assert kinds(second) == [DecisionKind.QUEUED]
    assert router.placement_of("ls-protected") is not None


def test_preemption_takes_the_lowest_priority_victim():
    router = Router([Node("n1", "H100", 1), Node("n2", "H100", 1)], RouterConfig(min_runtime_s=0))
    router.submit(make_job("p3", priority=3, preemptible=True), at(0))
    router.submit(make_job("p1", priority=1, preemptible=True), at(0))
    decisions = router.submit(make_job("urgent", priority=8), at(10))
    assert [d.job.job_id for d in decisions if d.kind is DecisionKind.PREEMPTED] == ["p1"]


def test_preemption_happens_only_if_it_lets_the_job_start_now():
    # Two preemptible 1-GPU jobs on 2-GPU nodes cannot make room for a 4-GPU job.
    router = Router([Node("n1", "H100", 2), Node("n2", "H100", 2)], RouterConfig(min_runtime_s=0))
    router.submit(make_job("steady", gpus=1, priority=1), at(0))
    router.submit(make_job("batch", gpus=1, priority=1, preemptible=True), at(0))
    router.submit(make_job("fill", gpus=2, priority=1), at(0))
    decisions = router.submit(make_job("wide", gpus=2, priority=8), at(10))
    assert kinds(decisions) == [DecisionKind.QUEUED]


def test_preempted_job_is_requeued_and_restarts_when_room_frees():
    router = Router([Node("n1", "H100", 1)], RouterConfig(min_runtime_s=0))
    router.submit(make_job("batch", priority=1, preemptible=True), at(0))
    router.submit(make_job("urgent", priority=8), at(10))
    assert placed(router.finish("urgent", at(20))) == {"batch": "n1"}


def test_queued_job_past_its_sla_gets_one_breach_decision():
    config = RouterConfig(sla_s={q: 100.0 for q in QosClass})
    router = Router([Node("n1", "H100", 1)], config)
    router.submit(make_job("running"), at(0))
    router.submit(make_job("waiting", qos=QosClass.LS), at(10))
    assert router.next_wakeup() == at(110)
    assert kinds(router.tick(at(109))) == []
    breach = router.tick(at(110))
    assert kinds(breach) == [DecisionKind.SLA_BREACH]
    assert breach[0].queue_wait_s == 100 and "SLA" in breach[0].reason
    assert kinds(router.tick(at(200))) == []
    assert kinds(router.finish("running", at(300))) == [DecisionKind.PLACED]


def test_breach_is_reported_at_placement_when_no_tick_came():
    config = RouterConfig(sla_s={q: 50.0 for q in QosClass})
    router = Router([Node("n1", "H100", 1)], config)
    router.submit(make_job("running"), at(0))
    router.submit(make_job("waiting"), at(0))
    decisions = router.finish("running", at(80))
    assert kinds(decisions) == [DecisionKind.SLA_BREACH, DecisionKind.PLACED]
    assert decisions[1].queue_wait_s == 80


def test_withdrawn_queued_job_leaves_the_queue():
    router = Router([Node("n1", "H100", 1)])
    router.submit(make_job("running"), at(0))
    router.submit(make_job("waiting"), at(1))
    assert router.finish("waiting", at(2)) == []
    assert router.queued_count == 0 and router.finish("running", at(3)) == []


def test_finish_of_unknown_job_raises():
    router = Router([Node("n1", "H100", 1)])
    with pytest.raises(RoutingError, match="unknown job"):
        router.finish("ghost", at(0))


def test_time_going_backwards_raises():
    router = Router([Node("n1", "H100", 1)])
    router.submit(make_job("a"), at(10))
    with pytest.raises(RoutingError, match="backwards"):
        router.tick(at(5))


def test_fifo_baseline_ignores_priority_and_never_preempts():
    router = Router([Node("n1", "H100", 1)], RouterConfig.fifo_baseline())
    router.submit(make_job("batch", priority=0, preemptible=True), at(0))
    router.submit(make_job("low", priority=0), at(1))
    assert kinds(router.submit(make_job("high", priority=9), at(10_000))) == [DecisionKind.QUEUED]
    assert list(placed(router.finish("batch", at(10_001)))) == ["low"]


@pytest.mark.parametrize("gpus", [0, -1, 1.5, 65])
def test_impossible_gpu_counts_are_refused(gpus):
    with pytest.raises(RoutingError):
        make_job("a", gpus=gpus)


def test_naive_times_are_refused():
    with pytest.raises(RoutingError, match="timezone"):
        Job("a", "acme", None, 1, 1, QosClass.BE, False, datetime(2024, 1, 1))


def test_config_without_an_sla_for_every_class_is_refused():
    with pytest.raises(ConfigError, match="lacks"):
        RouterConfig(sla_s={QosClass.LS: 10.0})
