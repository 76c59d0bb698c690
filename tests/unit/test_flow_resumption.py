"""Faust's flow control around rebalances (streams/resumption.py): what is dropped, and what is released."""

from __future__ import annotations

import asyncio

from faust.events import Event
from mode.utils.queues import FlowControlEvent, FlowControlQueue, ThrowableQueue

from streams.resumption import keep_queues_when_already_active, release_puts_during_rebalance


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


class AckCountingEvent(Event):
    """A faust event whose acknowledgement is counted (the message and app are not needed for that)."""

    def __init__(self) -> None:  # faust's Event needs an app and a message; these tests need neither
        self.acks = 0

    def ack(self) -> bool:
        self.acks += 1
        return True


def test_a_put_while_flow_is_suspended_drops_the_event_and_acknowledges_it():
    async def scenario() -> tuple[int, int]:
        release_puts_during_rebalance()
        flow_control = FlowControlEvent(initially_suspended=False)
        queue: ThrowableQueue[AckCountingEvent] = ThrowableQueue(flow_control=flow_control, clear_on_resume=True)
        flow_control.suspend()  # a revocation
        event = AckCountingEvent()
        await asyncio.wait_for(queue.put(event), timeout=1)  # before: waited for the flow to resume
        return queue.qsize(), event.acks

    assert asyncio.run(scenario()) == (0, 1)


def test_a_put_waiting_for_room_when_the_queue_is_cleared_for_a_rebalance_acknowledges_its_event():
    async def scenario() -> tuple[bool, int]:
        release_puts_during_rebalance()
        flow_control = FlowControlEvent(initially_suspended=False)
        queue: ThrowableQueue[object] = ThrowableQueue(maxsize=1, flow_control=flow_control, clear_on_resume=True)
        queue.put_nowait("held by the agent")
        event = AckCountingEvent()
        put = asyncio.ensure_future(queue.put(event))
        await asyncio.sleep(0)  # the put waits for room
        flow_control.suspend()
        flow_control.clear()  # what faust does at a revocation: cancels the waiting put
        await asyncio.wait([put])
        return put.cancelled(), event.acks

    assert asyncio.run(scenario()) == (True, 1)


def test_a_put_with_flow_active_queues_the_event_without_acknowledging_it():
    async def scenario() -> tuple[int, int]:
        release_puts_during_rebalance()
        flow_control = FlowControlEvent(initially_suspended=False)
        queue: ThrowableQueue[AckCountingEvent] = ThrowableQueue(flow_control=flow_control, clear_on_resume=True)
        event = AckCountingEvent()
        await queue.put(event)
        return queue.qsize(), event.acks

    assert asyncio.run(scenario()) == (1, 0)
