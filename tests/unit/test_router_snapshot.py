"""Router snapshots (hcp.routing.snapshot): JSON round trip, and a restored router decides as one never stopped."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from hcp.records.workloads import QosClass
from hcp.routing import DecisionKind, Job, Node, Router, RouterConfig, RoutingError
from hcp.routing.snapshot import ROUTER_STATE, restore_router, router_snapshot

T0 = datetime(2023, 1, 16, tzinfo=UTC)
NODES = [Node("h-a", "H100", 8), Node("h-b", "H100", 4), Node("a-a", "A100", 8), Node("l-a", "L40S", 2)]
CONFIG = RouterConfig(min_runtime_s=60.0)


def job(job_id, gpus=1.0, priority=5, qos=QosClass.BE, preemptible=True, gpu_type="H100", at=T0):
    return Job(job_id, "acme", gpu_type, gpus, priority, qos, preemptible, at, expected_duration_s=600.0)


def through_json(router):
    return json.loads(json.dumps(router_snapshot(router)))


def busy_router():
    """Running jobs (whole GPUs and shares of one GPU), preempted jobs requeued, queued jobs at four priorities,
    SLA breaches reported."""
    router = Router(NODES, CONFIG)
    router.submit(job("whole", gpus=8, priority=2), T0)
    router.submit(job("share-a", gpus=0.25, priority=1), T0)
    router.submit(job("share-b", gpus=0.5, priority=1, gpu_type=None), T0)
    router.submit(job("a100", gpus=8, gpu_type="A100", priority=3, preemptible=False), T0)
    router.submit(job("low", gpus=4, priority=0), T0 + timedelta(seconds=5))
    router.submit(job("mid", gpus=4, priority=4, qos=QosClass.GUARANTEED), T0 + timedelta(seconds=6))
    router.submit(job("high", gpus=8, priority=7, preemptible=False), T0 + timedelta(seconds=120))
    router.submit(job("a100-wait", gpus=2, gpu_type="A100", priority=6, qos=QosClass.LS), T0 + timedelta(seconds=121))
    router.tick(T0 + timedelta(seconds=300))  # preempts whole, share-a, share-b; mid and a100-wait breach
    router.submit(job("share-c", gpus=0.25, gpu_type="L40S"), T0 + timedelta(seconds=301))
    router.submit(job("share-d", gpus=0.5, gpu_type="L40S"), T0 + timedelta(seconds=302))
    return router


def test_a_busy_router_survives_a_json_round_trip():
    router = busy_router()
    snapshot = through_json(router)
    restored = restore_router(snapshot, NODES, CONFIG)

    assert through_json(restored) == snapshot
    assert restored._capacity.free == router._capacity.free
    assert {j: r.slots for j, r in restored._running.items()} == {j: r.slots for j, r in router._running.items()}
    assert restored.placement_of("share-d").slots == router.placement_of("share-d").slots
    assert (restored.queued_count, restored.running_count) == (router.queued_count, router.running_count) == (4, 6)
    assert restored.next_wakeup() == router.next_wakeup()
    assert restored.allocated_gpus == router.allocated_gpus


def test_restored_router_places_the_queue_by_priority_then_arrival_on_the_freed_gpus():
    router = busy_router()
    restored = restore_router(through_json(router), NODES, CONFIG)
    end = T0 + timedelta(seconds=400)
    running = next(iter(router._running))
    assert restored.finish(running, end) == router.finish(running, end)
    for job_id in list(router._running):
        later = end + timedelta(seconds=1)
        assert restored.finish(job_id, later) == router.finish(job_id, later)


def test_restored_router_rejects_a_job_id_it_holds_and_numbers_new_jobs_after_the_old_ones():
    router = busy_router()
    restored = restore_router(through_json(router), NODES, CONFIG)
    at = T0 + timedelta(seconds=500)
    again = restored.submit(job("low", gpus=4, priority=0, at=at), at)
    assert [d.kind for d in again] == [DecisionKind.REJECTED]
    assert restored.submit(job("new", gpus=4, at=at), at) == router.submit(job("new", gpus=4, at=at), at)
    assert restored._seqs["new"] == router._seqs["new"]


def test_snapshot_covers_every_attribute_of_the_router():
    # Fails when Router grows state: extend hcp/routing/snapshot.py (save it and rebuild it) and ROUTER_STATE.
    assert set(vars(Router(NODES, CONFIG))) == ROUTER_STATE


def test_restore_refuses_a_snapshot_whose_node_left_the_fleet():
    snapshot = through_json(busy_router())
    with pytest.raises(RoutingError, match="not in the fleet"):
        restore_router(snapshot, [Node("h-a", "H100", 8), Node("a-a", "A100", 8)], CONFIG)


def test_restore_refuses_a_snapshot_that_books_a_gpu_twice():
    snapshot = through_json(busy_router())
    first = snapshot["running"][0]
    snapshot["running"].append({**first, "job": {**first["job"], "job_id": "twin"}, "seq": snapshot["next_seq"]})
    snapshot["next_seq"] += 1
    with pytest.raises(RoutingError, match="does not have free"):
        restore_router(snapshot, NODES, CONFIG)


def random_calls(rng, count):
    """A random call sequence in event time: submits, finishes of live jobs, and ticks."""
    calls, live, at = [], [], T0
    for index in range(count):
        at += timedelta(seconds=rng.choice([0, 0, 5, 30, 90, 240]))
        roll = rng.random()
        if roll < 0.55 or not live:
            new = Job(
                f"j{index}", "acme", rng.choice(["H100", "H100", "A100", None]),
                rng.choice([0.25, 0.5, 1.0, 1.0, 2.0, 4.0, 8.0]), rng.randrange(10), rng.choice(list(QosClass)),
                rng.random() < 0.7, at, expected_duration_s=600.0,
            )
            calls.append(("submit", new, at))
            live.append(new.job_id)
        elif roll < 0.85:
            calls.append(("finish", live.pop(rng.randrange(len(live))), at))
        else:
            calls.append(("tick", None, at))
    return calls


def play(router, call):
    kind, arg, at = call
    if kind == "submit":
        return router.submit(arg, at)
    if kind == "tick":
        return router.tick(at)
    try:
        return router.finish(arg, at)
    except RoutingError:
        return "unknown"  # rejected jobs never entered the router


@pytest.mark.parametrize("seed", range(12))
def test_restored_router_decides_the_rest_of_a_random_sequence_as_one_never_stopped(seed):
    rng = random.Random(seed)
    calls = random_calls(rng, 160)
    stops = sorted(rng.sample(range(1, len(calls)), 3))
    never_stopped, restarted = Router(NODES, CONFIG), Router(NODES, CONFIG)
    kinds = set()
    for index, call in enumerate(calls):
        if index in stops:
            restarted = restore_router(through_json(restarted), NODES, CONFIG)
        expected = play(never_stopped, call)
        assert play(restarted, call) == expected, f"call {index} {call[0]} {call[1]}"
        assert restarted.next_wakeup() == never_stopped.next_wakeup()
        kinds |= {d.kind for d in expected} if isinstance(expected, list) else set()
    assert {DecisionKind.PLACED, DecisionKind.QUEUED} <= kinds
