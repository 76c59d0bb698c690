"""The site controller across a restart: restored from the table entries of its outputs, it decides the rest of a
sequence as a controller that never stopped, and a redelivered request places nothing twice."""

import json
import random
from datetime import timedelta

import pytest

from hcp.records import DecisionKind, PriceKind, PriceTick
from streams.power.controller import SiteController
from tests.unit.test_site_control import FLEET, T0, hashprice, price, request


def random_messages(rng, count):
    """Real-time prices of both nodes every 15 minutes, GPU rental rates, and job requests in between."""
    messages, at, interval = [hashprice()], T0, 0
    for index in range(count):
        at += timedelta(seconds=rng.choice([5, 30, 120, 400]))
        while T0 + (interval + 1) * timedelta(minutes=15) <= at:
            start = T0 + interval * timedelta(minutes=15)
            for node in ("HB_WEST", "HB_NORTH"):
                value = rng.choice([25.0, 40.0, 90.0, 400.0])
                messages.append(price(PriceKind.ENERGY_RT, start, start + timedelta(minutes=15), value, node))
            interval += 1
        if rng.random() < 0.05:
            messages.append(PriceTick(
                event_id=f"rate:{index}", event_time=at, kind=PriceKind.GPU_RENTAL, gpu_type="H100",
                interval_start=at, interval_end=at + timedelta(hours=1), value=rng.choice([1.5, 3.0]),
                unit="USD/GPU-hour",
            ))
        gpu_type = rng.choice(["H100", "H100", "L40S"])
        messages.append(request(
            f"j{index}", at, gpus=rng.choice([1, 2, 4, 8]), priority=rng.randrange(10),
            qos=rng.choice(["LS", "BE", "Burstable", "Guaranteed"]), preemptible=rng.random() < 0.7,
            duration=rng.choice([60.0, 600.0, 3600.0]), gpu_type=gpu_type,
        ))
    return messages


def handle(controller, message):
    if isinstance(message, PriceTick):
        return controller.on_price(message)
    return controller.on_request(message, message.event_time)


def records(output):
    return [r.model_dump() for r in output.commands], [r.model_dump() for r in output.decisions]


def restarted(table):
    """A new controller restored from the table (through JSON, as the changelog stores it)."""
    controller = SiteController(FLEET)
    controller.restore(json.loads(json.dumps(list(table.items()))))
    assert controller.restore_errors == []
    return controller


@pytest.mark.parametrize("seed", range(6))
def test_restored_controller_decides_the_rest_of_a_random_sequence_as_one_never_stopped(seed):
    rng = random.Random(seed)
    messages = random_messages(rng, 120)
    stops = set(rng.sample(range(1, len(messages)), 4))
    never_stopped, controller, table = SiteController(FLEET), SiteController(FLEET), {}
    kinds = set()
    for index, message in enumerate(messages):
        if index in stops:
            controller = restarted(table)
        expected = handle(never_stopped, message)
        output = handle(controller, message)
        assert records(output) == records(expected), f"message {index}: {message.event_id}"
        table.update(output.changes)
        kinds |= {d.kind for d in expected.decisions}
    assert {DecisionKind.PLACEMENT, DecisionKind.QUEUED, DecisionKind.POWER_MIX} <= kinds  # exercised the routers
    assert controller.jobs["west-1"].snapshot() == never_stopped.jobs["west-1"].snapshot()


def test_running_jobs_keep_their_gpus_and_end_on_time_after_a_restart():
    controller, table = SiteController(FLEET), {}
    for message in (hashprice(), request("long", T0, gpus=8, duration=7200.0), request("short", T0, gpus=8)):
        table.update(handle(controller, message).changes)
    controller = restarted(table)
    jobs = controller.jobs["west-1"]
    assert set(jobs.running) == {"long", "short"} and jobs.free_gpus("H100") == 64 - 16

    later = T0 + timedelta(hours=1, seconds=1)
    ended = controller.on_request(request("next", later, gpus=8), later)
    kinds = [(d.subject, d.kind) for d in ended.decisions]
    assert ("next", DecisionKind.PLACEMENT) in kinds
    assert set(jobs.running) == {"long", "next"}  # "short" (3600 s) ended at its time, "long" still runs


def test_a_request_redelivered_after_a_restart_places_nothing_twice():
    controller, table = SiteController(FLEET), {}
    first = request("once", T0, gpus=8)
    for message in (hashprice(), first):
        table.update(handle(controller, message).changes)
    controller = restarted(table)

    again = controller.on_request(first, first.event_time)
    assert again.decisions == [] and again.commands == [] and controller.duplicates == 1
    assert controller.jobs["west-1"].free_gpus("H100") == 64 - 8
