"""Resuming faust's flow control drops queued messages only after a real suspension (streams/resumption.py)."""

from __future__ import annotations

import asyncio

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.resumption import keep_queues_when_already_active


def queue_with(flow_control: FlowControlEvent, *items: str) -> FlowControlQueue[str]:
    queue: FlowControlQueue[str] = FlowControlQueue(flow_control=flow_control, clear_on_resume=True)
    for item in items:
        queue.put_nowait(item)
    return queue


def test_resuming_active_flow_keeps_what_was_fetched_after_the_seek():
    async def scenario() -> list[str]:
        keep_queues_when_already_active()
        flow_control = FlowControlEvent(initially_suspended=False)
        queue = queue_with(flow_control, "telemetry.asic[0]@84", "telemetry.asic[0]@85")
        flow_control.resume()  # the second resume of a table recovery
        return [queue.get_nowait() for _ in range(queue.qsize())]

    assert asyncio.run(scenario()) == ["telemetry.asic[0]@84", "telemetry.asic[0]@85"]


def test_resuming_suspended_flow_still_drops_what_was_fetched_before_the_rebalance():
    async def scenario() -> tuple[bool, int]:
        keep_queues_when_already_active()
        flow_control = FlowControlEvent(initially_suspended=False)
        queue = queue_with(flow_control, "telemetry.asic[0]@84")
        flow_control.suspend()
        flow_control.resume()
        return flow_control.is_active(), queue.qsize()

    assert asyncio.run(scenario()) == (True, 0)
