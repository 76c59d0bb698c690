"""Reservations: a wide job that backfill would starve gets GPUs held for it, and nothing is double-booked."""

import heapq
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass
from hcp.routing import DecisionKind, Job, Node, Router, RouterConfig, RoutingError
from hcp.routing.snapshot import restore_router, router_snapshot

T0 = datetime(2024, 5, 1, tzinfo=UTC)
RESERVING = RouterConfig(reservations_enabled=True)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_job(job_id, gpus=1.0, priority=7, qos=QosClass.LS, preemptible=False, duration=None, gpu_type=None):
    return Job(
        job_id=job_id,
        customer_id="acme",
        gpu_type=gpu_type,
        gpus=gpus,
        priority=priority,
        qos_class=qos,
        preemptible=preemptible,
        submitted_at=T0,
        expected_duration_s=duration,
    )


def of_job(decisions, job_id):
    return [d for d in decisions if d.job.job_id == job_id]


class Driver:
    """Feeds a router arrivals, the finishes of what it placed (after each job's run time) and its wake-ups."""

    def __init__(self, router: Router, run_s: dict[str, float]) -> None:
        self.router, self.run_s = router, run_s
        self.events: list[tuple[float, int, int, object]] = []
        self.decisions = []
        self.tokens = 0
        self.run_token: dict[str, int] = {}

    def submit(self, job: Job, when: float) -> None:
        self._push(when, 1, job)

    def run(self, until: float) -> None:
        while self.events and self.events[0][0] <= until:
            when, kind, token, item = heapq.heappop(self.events)
            if kind == 0 and self.run_token.get(item) != token:
                continue  # a preempted run
            now = at(when)
            if kind == 0:
                del self.run_token[item]
                made = self.router.finish(item, now)
            elif kind == 1:
                made = self.router.submit(item, now)
            else:
                wake = self.router.next_wakeup()
                if wake is None or wake > now:
                    continue
                made = self.router.tick(now)
            self.router.audit()
            self._note(made, when)
            wake = self.router.next_wakeup()
            if wake is not None:
                self._push((wake - T0).total_seconds(), 2, None)

    def placed_at(self, job_id: str) -> float | None:
        for d in self.decisions:
            if d.kind is DecisionKind.PLACED and d.job.job_id == job_id:
                return (d.at - T0).total_seconds()
        return None

    def _note(self, made, when: float) -> None:
        self.decisions += made
        for d in made:
            if d.kind is DecisionKind.PLACED:
                self.tokens += 1
                self.run_token[d.job.job_id] = self.tokens
                heapq.heappush(self.events, (when + self.run_s[d.job.job_id], 0, self.tokens, d.job.job_id))
            elif d.kind is DecisionKind.PREEMPTED:
                del self.run_token[d.job.job_id]

    def _push(self, when: float, kind: int, item: object) -> None:
        self.tokens += 1
        heapq.heappush(self.events, (when, kind, self.tokens, item))


def narrow_stream(driver: Driver, until: float, durations_known: bool) -> None:
    """Four 1-GPU LS jobs that end 25 s apart, then a new 100 s one every 25 s: a 4-GPU node never has 4 free."""
    for i, run_s in enumerate((25.0, 50.0, 75.0, 100.0)):
        driver.run_s[f"first-{i}"] = run_s
        driver.submit(make_job(f"first-{i}", duration=run_s if durations_known else None), 0.0)
    arrival, i = 25.0, 0
    while arrival <= until:
        driver.run_s[f"narrow-{i}"] = 100.0
        driver.submit(make_job(f"narrow-{i}", duration=100.0 if durations_known else None), arrival)
        arrival, i = arrival + 25.0, i + 1


@pytest.mark.parametrize("durations_known", [False, True])
def test_wide_job_behind_a_stream_of_narrow_jobs_starves_without_a_reservation(durations_known):
    driver = Driver(Router([Node("n1", "H100", 4)], RouterConfig()), {"wide": 200.0})
    narrow_stream(driver, until=2000.0, durations_known=durations_known)
    driver.submit(make_job("wide", gpus=4, duration=200.0), 1.0)
    driver.run(until=5000.0)
    assert driver.placed_at("wide") > 2000.0  # only once the stream stops


@pytest.mark.parametrize("durations_known", [False, True])
def test_wide_job_behind_a_stream_of_narrow_jobs_starts_within_sla_plus_one_run_with_a_reservation(durations_known):
    driver = Driver(Router([Node("n1", "H100", 4)], RESERVING), {"wide": 200.0})
    narrow_stream(driver, until=2000.0, durations_known=durations_known)
    driver.submit(make_job("wide", gpus=4, duration=200.0), 1.0)
    driver.run(until=5000.0)
    sla = RESERVING.sla_s[QosClass.LS]
    assert driver.placed_at("wide") <= 1.0 + sla + 100.0  # its SLA, then at most one narrow run to drain
    assert [d.kind for d in of_job(driver.decisions, "wide")] == [
        DecisionKind.QUEUED,
        DecisionKind.SLA_BREACH,
        DecisionKind.RESERVED,
        DecisionKind.PLACED,
        DecisionKind.RESERVATION_HONOURED,
    ]
    reserved = next(d for d in driver.decisions if d.kind is DecisionKind.RESERVED)
    assert reserved.node_id == "n1" and "holds GPU 0,1,2,3 of n1" in reserved.reason
    assert driver.router.reservations() == []


def test_narrow_jobs_still_run_on_free_gpus_of_other_nodes_while_a_reservation_holds():
    router = Router([Node("n1", "H100", 4), Node("n2", "H100", 4)], RESERVING)
    for i in range(4):
        router.submit(make_job(f"a{i}"), at(0))
    for i in range(3):
        router.submit(make_job(f"b{i}"), at(0))
    router.submit(make_job("wide", gpus=4), at(1))
    made = router.tick(at(61))
    reserved = [d for d in made if d.kind is DecisionKind.RESERVED]
    assert [d.node_id for d in reserved] == ["n2"]  # the node with a GPU free already
    assert router.submit(make_job("late"), at(62))[0].kind is DecisionKind.QUEUED  # n2's free GPU is held
    router.finish("a0", at(63))
    placed = router.placement_of("late")
    assert placed is not None and router.placement_of("wide") is None  # n1's freed GPU is not held: backfill


def test_job_ending_before_the_expected_start_backfills_onto_held_gpus_and_a_longer_one_waits():
    router = Router([Node("n1", "H100", 8)], RESERVING)
    router.submit(make_job("long", gpus=6, duration=1000.0), at(0))
    router.submit(make_job("wide", gpus=4, duration=100.0), at(1))
    made = router.tick(at(61))
    assert [d.kind for d in made if d.kind is DecisionKind.RESERVED] == [DecisionKind.RESERVED]
    assert router.reservations()[0].expected_start == at(1000)
    short = router.submit(make_job("short", gpus=2, duration=500.0), at(100))
    assert short[0].kind is DecisionKind.PLACED and "ending before its expected start" in short[0].reason
    assert router.submit(make_job("too-long", gpus=1, duration=5000.0), at(101))[0].kind is DecisionKind.QUEUED
    router.finish("short", at(600))
    made = router.finish("long", at(1000))
    assert [(d.kind, d.job.job_id) for d in made][:2] == [
        (DecisionKind.PLACED, "wide"),
        (DecisionKind.RESERVATION_HONOURED, "wide"),
    ]
    assert router.placement_of("too-long") is not None  # the rest of the node backfills once it started


def test_higher_priority_job_may_use_gpus_held_for_a_lower_priority_one():
    router = Router([Node("n1", "H100", 2)], RESERVING)
    router.submit(make_job("burst-1", qos=QosClass.BURSTABLE, priority=4), at(0))
    router.submit(make_job("wide", gpus=2, qos=QosClass.BURSTABLE, priority=4), at(1))
    router.tick(at(1801))
    assert [r.job_id for r in router.reservations()] == ["wide"]
    made = router.submit(make_job("ls"), at(1802))
    assert made[0].kind is DecisionKind.PLACED and "reserved for lower-priority wide" in made[0].reason
    assert router.submit(make_job("burst-2", qos=QosClass.BURSTABLE, priority=4), at(1803))[0].kind is (
        DecisionKind.QUEUED
    )


def test_reservation_is_released_when_the_job_is_withdrawn_and_its_gpus_go_to_the_queue():
    router = Router([Node("n1", "H100", 4)], RESERVING)
    for i in range(3):
        router.submit(make_job(f"a{i}"), at(0))
    router.submit(make_job("wide", gpus=4), at(1))
    router.tick(at(61))
    assert router.submit(make_job("narrow"), at(62))[0].kind is DecisionKind.QUEUED
    made = router.finish("wide", at(63))
    assert [(d.kind, d.job.job_id) for d in made] == [
        (DecisionKind.RESERVATION_RELEASED, "wide"),
        (DecisionKind.PLACED, "narrow"),
    ]
    assert "withdrawn" in made[0].reason and router.reservations() == []


def test_reservation_is_released_when_the_job_starts_on_another_node_first():
    router = Router([Node("n1", "H100", 4), Node("n2", "H100", 4)], RESERVING)
    for i in range(4):
        router.submit(make_job(f"a{i}"), at(0))  # fill n1
    for i in range(3):
        router.submit(make_job(f"b{i}"), at(0))  # n2: one GPU free
    router.submit(make_job("wide", gpus=4), at(1))
    router.tick(at(61))
    assert router.reservations()[0].node == 1
    for i in range(3):
        router.finish(f"a{i}", at(70 + i))
    made = router.finish("a3", at(80))
    assert [(d.kind, d.node_id) for d in made] == [
        (DecisionKind.PLACED, "n1"),
        (DecisionKind.RESERVATION_RELEASED, "n2"),
    ]
    assert "started on n1 before its reserved node n2 had room" in made[1].reason
    assert router.submit(make_job("narrow"), at(81))[0].node_id == "n2"  # the hold is gone


def test_reserved_job_preempts_preemptible_work_on_its_node_once_the_minimum_runtime_passed():
    router = Router([Node("n1", "H100", 4)], RESERVING)
    router.submit(make_job("be", gpus=4, qos=QosClass.BE, priority=1, preemptible=True), at(0))
    router.submit(make_job("wide", gpus=4), at(10))
    made = router.tick(at(70))
    assert [d.kind for d in made] == [DecisionKind.SLA_BREACH, DecisionKind.RESERVED]
    assert router.reservations()[0].expected_start == at(RESERVING.min_runtime_s)
    assert router.next_wakeup() == at(RESERVING.min_runtime_s)
    made = router.tick(at(RESERVING.min_runtime_s))
    assert [(d.kind, d.job.job_id) for d in made] == [
        (DecisionKind.PREEMPTED, "be"),
        (DecisionKind.PLACED, "wide"),
        (DecisionKind.RESERVATION_HONOURED, "wide"),
    ]
    assert "on its reservation after preempting 1 job(s)" in made[1].reason


def test_higher_priority_overdue_job_supersedes_a_lower_priority_reservation():
    router = Router([Node("n1", "H100", 4)], RESERVING)
    for i in range(3):
        router.submit(make_job(f"a{i}"), at(0))
    router.submit(make_job("burst-wide", gpus=4, qos=QosClass.BURSTABLE, priority=4), at(1))
    router.tick(at(1801))
    router.submit(make_job("ls-wide", gpus=2), at(1802))
    made = router.tick(at(1862))
    kinds = [(d.kind, d.job.job_id) for d in made if d.kind is not DecisionKind.SLA_BREACH]
    assert kinds == [(DecisionKind.RESERVATION_RELEASED, "burst-wide"), (DecisionKind.RESERVED, "ls-wide")]
    assert "superseded by higher-priority ls-wide" in made[-2].reason


def test_overdue_job_that_cannot_use_the_weakest_reservations_node_supersedes_nothing():
    config = RouterConfig(reservations_enabled=True, max_reservations=2)
    router = Router([Node("n1", "H100", 2), Node("n2", "A100", 2)], config)
    router.submit(make_job("h-full", gpus=2, gpu_type="H100"), at(0))
    router.submit(make_job("a-full", gpus=2, gpu_type="A100"), at(0))
    router.submit(make_job("h-wide", gpus=2, priority=6, gpu_type="H100"), at(1))
    router.submit(make_job("a-wide", gpus=2, qos=QosClass.BURSTABLE, priority=4, gpu_type="A100"), at(1))
    router.tick(at(1801))
    assert [r.job_id for r in router.reservations()] == ["h-wide", "a-wide"]
    router.submit(make_job("h-urgent", gpu_type="H100"), at(1802))
    made = router.tick(at(1862))  # only n1 suits it, and n1 is not the weakest reservation's node
    assert [d.kind for d in made] == [DecisionKind.SLA_BREACH]
    assert [r.job_id for r in router.reservations()] == ["h-wide", "a-wide"]


def test_reservations_are_off_by_default_and_in_the_fifo_baseline():
    assert not RouterConfig().reservations_enabled
    assert not RouterConfig.fifo_baseline().reservations_enabled


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_reservations": 0},
        {"reserve_after_s": {QosClass.LS: 10.0}},
        {"reserve_after_s": dict.fromkeys(QosClass, -1.0)},
    ],
)
def test_bad_reservation_settings_are_refused(kwargs):
    with pytest.raises(ConfigError):
        RouterConfig(reservations_enabled=True, **kwargs)


def test_reserve_after_threshold_can_be_shorter_than_the_sla():
    config = RouterConfig(reservations_enabled=True, reserve_after_s=dict.fromkeys(QosClass, 5.0))
    router = Router([Node("n1", "H100", 2)], config)
    router.submit(make_job("a"), at(0))
    router.submit(make_job("wide", gpus=2), at(1))
    assert router.next_wakeup() == at(6)
    assert [d.kind for d in router.tick(at(6))] == [DecisionKind.RESERVED]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_gpu_is_double_booked_over_a_random_sequence(seed):
    rng = random.Random(seed)
    nodes = [Node("a1", "A100", 8), Node("a2", "A100", 4), Node("h1", "H100", 8), Node("t1", "T4", 2)]
    config = RouterConfig(
        reservations_enabled=True, max_reservations=2, min_runtime_s=30.0, reserve_after_s=dict.fromkeys(QosClass, 20.0)
    )
    router = Router(nodes, config)
    classes = [
        (QosClass.LS, 7, False),
        (QosClass.GUARANTEED, 9, False),
        (QosClass.BURSTABLE, 4, True),
        (QosClass.BE, 1, True),
    ]
    live: list[str] = []
    now, seen = 0.0, set()
    for step in range(600):
        now += rng.choice([0.0, 1.0, 5.0, 20.0])
        action = rng.random()
        if action < 0.5 or not live:
            qos, priority, preemptible = rng.choice(classes)
            gpus = rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 2.0, 4.0, 8.0])
            job = make_job(
                f"j{step}",
                gpus,
                priority,
                qos,
                preemptible,
                rng.choice([None, 10.0, 100.0, 1000.0]),
                rng.choice([None, None, "A100", "H100", "T4"]),
            )
            made = router.submit(job, at(now))
            if made and made[0].kind is not DecisionKind.REJECTED:
                live.append(job.job_id)
        elif action < 0.85:
            made = router.finish(live.pop(rng.randrange(len(live))), at(now))
        else:
            made = router.tick(at(now))
        seen.update(d.kind for d in made)
        router.audit()
        booked: dict[tuple[int, int], int] = {}
        for running in router.running_jobs():
            for gpu in running.slots.gpus:
                key = (running.slots.node, gpu)
                booked[key] = booked.get(key, 0) + running.slots.milli
        assert all(milli <= 1000 for milli in booked.values())
        held = [(r.node, g) for r in router.reservations() for g in r.gpus]
        assert len(held) == len(set(held))
        assert len({r.node for r in router.reservations()}) == len(router.reservations()) <= 2
    assert {DecisionKind.RESERVED, DecisionKind.PREEMPTED} <= seen


@pytest.mark.parametrize("seed", range(4))
def test_a_restored_router_keeps_its_reservations_and_decides_as_one_never_stopped(seed):
    rng = random.Random(seed)
    nodes = [Node("h1", "H100", 8), Node("h2", "H100", 4), Node("t1", "T4", 2)]
    config = RouterConfig(reservations_enabled=True, min_runtime_s=60.0, reserve_after_s=dict.fromkeys(QosClass, 30.0))
    never_stopped, restarted = Router(nodes, config), Router(nodes, config)
    live: list[str] = []
    now, held_at_a_stop = 0.0, 0
    for step in range(300):
        if step % 40 == 39:
            held_at_a_stop += len(restarted.reservations())
            restarted = restore_router(json.loads(json.dumps(router_snapshot(restarted))), nodes, config)
        now += rng.choice([0.0, 5.0, 30.0, 90.0])
        if rng.random() < 0.55 or not live:
            job = make_job(
                f"j{step}",
                rng.choice([0.5, 1.0, 1.0, 2.0, 4.0, 8.0]),
                rng.randrange(10),
                rng.choice(list(QosClass)),
                rng.random() < 0.5,
                rng.choice([None, 60.0, 600.0]),
                rng.choice([None, "H100"]),
            )
            calls = [("submit", job)]
            live.append(job.job_id)
        elif rng.random() < 0.7:
            calls = [("finish", live.pop(rng.randrange(len(live))))]
        else:
            calls = [("tick", None)]
        for kind, arg in calls:
            results = []
            for router in (never_stopped, restarted):
                if kind == "submit":
                    results.append(router.submit(arg, at(now)))
                elif kind == "tick":
                    results.append(router.tick(at(now)))
                else:
                    try:
                        results.append(router.finish(arg, at(now)))
                    except RoutingError:
                        results.append("unknown")  # a rejected job
            assert results[0] == results[1], f"step {step}"
            assert restarted.next_wakeup() == never_stopped.next_wakeup()
            assert restarted.reservations() == never_stopped.reservations()
    assert held_at_a_stop > 0
