"""The pipeline check must not hold up the event loop while the alert rules' lock is busy."""

from __future__ import annotations

import asyncio
import threading

from hcp.alerting import AlertEvaluator, AlertSettings
from hcp.fleet import load_fleet
from hcp.observability import PlatformMetrics
from streams.alerting.agents import check_pipeline_once
from streams.alerting.evaluation import AlertingState


def test_pipeline_check_waits_for_the_rules_lock_off_the_event_loop():
    fleet = load_fleet()
    state = AlertingState(AlertEvaluator(fleet, AlertSettings()), PlatformMetrics(fleet))
    held, release = threading.Event(), threading.Event()

    def busy_batch() -> None:  # what evaluate_batch does with a large batch: hold the lock a while
        with state.lock:
            held.set()
            release.wait(10)

    async def scenario() -> tuple[int, bool]:
        holder = threading.Thread(target=busy_batch)
        holder.start()
        held.wait(5)
        check = asyncio.ensure_future(check_pipeline_once(state, alerts_topic=None))  # no alerts: nothing sent
        ticks = 0
        for _ in range(20):  # the loop keeps running other work while the check waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        waiting = not check.done()
        release.set()
        await asyncio.wait_for(check, 10)
        holder.join(5)
        return ticks, waiting

    ticks, waiting = asyncio.run(scenario())
    assert waiting, "the check finished although the lock was held"
    assert ticks == 20
