"""Faust's commit point made to pass only processed offsets (streams/commits.py, docs/commit-stalls.md)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from weakref import WeakSet

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent

from streams.commits import bound_wait_empty, guard_commits, release_stuck_messages, unique_offsets, wait_at_most

TELEMETRY_0 = TP("telemetry.asic", 0)
GENERATION = 7


class FakeMessage:
    """What `Consumer.ack` and the commit guard read of a faust message (weak-referenceable, like it)."""

    def __init__(self, offset: int, generation_id: int = GENERATION) -> None:
        self.tp = TELEMETRY_0
        self.topic = TELEMETRY_0.topic
        self.offset = offset
        self.generation_id = generation_id
        self.acked = False


def consumer_state(acked: list[int], committed: int | None, in_flight: tuple[FakeMessage, ...] = ()) -> SimpleNamespace:
    """The attributes `Consumer._new_offset` and `Consumer.ack` read, as a consumer holds them."""
    flow_control = FlowControlEvent()
    flow_control.resume()
    return SimpleNamespace(
        app=SimpleNamespace(
            flow_control=flow_control,
            consumer_generation_id=GENERATION,
            topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
        ),
        _acked=defaultdict(list, {TELEMETRY_0: list(acked)}),
        _acked_index=defaultdict(set, {TELEMETRY_0: set(acked)}),
        _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None, {TELEMETRY_0: committed}),
        _unacked_messages=WeakSet(in_flight),
        _n_acked=0,
        _waiting_for_ack=None,
    )


def test_offsets_acknowledged_twice_no_longer_hold_the_commit_back_to_one_offset():
    # As seen in a stalled worker: each offset of a re-fetched range acknowledged twice.
    acked = [offset for offset in range(84, 170) for _ in range(2)]
    guard_commits()
    assert Consumer._new_offset(consumer_state(acked, 84), TELEMETRY_0) == 170


def test_the_commit_point_still_stops_at_the_first_offset_not_acknowledged():
    acked = [80, 80, 81, 82, 82, 84, 85]  # 83 not acknowledged yet
    guard_commits()
    state = consumer_state(acked, 80)
    assert Consumer._new_offset(state, TELEMETRY_0) == 83
    assert state._acked[TELEMETRY_0] == [84, 85]


def test_nothing_is_committed_over_the_one_unprocessed_offset_at_the_head():
    # faust-streaming #606: committed 80 (the next to read), 81 and 82 acknowledged, 80 still in a batch.
    guard_commits()
    state = consumer_state([81, 82], 80)
    assert Consumer._new_offset(state, TELEMETRY_0) is None
    assert state._acked[TELEMETRY_0] == [81, 82], "the acknowledged offsets must wait for 80, not be dropped"
    state._acked[TELEMETRY_0].append(80)
    assert Consumer._new_offset(state, TELEMETRY_0) == 83


def test_a_known_gap_at_the_head_is_committed_over():
    guard_commits()
    state = consumer_state([83, 84], 80)
    state._gap[TELEMETRY_0].addi(80, 83)  # offsets 80-82 do not exist (compaction, transaction markers)
    assert Consumer._new_offset(state, TELEMETRY_0) == 85


def test_nothing_is_committed_over_a_message_still_in_flight_when_no_offset_was_committed_yet():
    guard_commits()
    in_flight = FakeMessage(5)
    state = consumer_state([6, 7], None, in_flight=(in_flight,))
    assert Consumer._new_offset(state, TELEMETRY_0) is None
    in_flight.acked = True
    assert Consumer._new_offset(state, TELEMETRY_0) == 8


def test_an_acknowledgement_of_a_processed_message_makes_its_offset_committable():
    guard_commits()
    message = FakeMessage(80)
    state = consumer_state([], 80, in_flight=(message,))
    assert Consumer.ack(state, message) is True
    assert state._acked[TELEMETRY_0] == [80]
    assert message not in state._unacked_messages


def test_a_message_skipped_during_a_rebalance_is_released_but_its_offset_is_not_committable():
    # faust's stream skips and acknowledges what it takes while flow control is suspended; committing that
    # offset (as the revocation's wait_empty does) would lose the message.
    guard_commits()
    message = FakeMessage(80)
    state = consumer_state([], 80, in_flight=(message,))
    state.app.flow_control.suspend()
    assert Consumer.ack(state, message) is False
    assert message.acked, "nothing may wait for it any more (wait_empty)"
    assert message not in state._unacked_messages
    assert state._acked[TELEMETRY_0] == []
    assert Consumer._new_offset(state, TELEMETRY_0) is None


def test_a_message_of_an_earlier_generation_is_released_but_its_offset_is_not_committable():
    guard_commits()
    message = FakeMessage(80, generation_id=GENERATION - 1)
    state = consumer_state([], 80, in_flight=(message,))
    assert Consumer.ack(state, message) is False
    assert message.acked
    assert state._acked[TELEMETRY_0] == []


def test_guard_commits_installs_once():
    guard_commits()
    new_offset, ack = Consumer._new_offset, Consumer.ack
    guard_commits()
    assert (Consumer._new_offset, Consumer.ack) == (new_offset, ack)


def test_unique_offsets_sorts_and_drops_repeats_in_place():
    acked = [86, 84, 85, 84, 86]
    unique_offsets(acked)
    assert acked == [84, 85, 86]


def test_messages_still_waited_for_are_released_without_their_offsets_becoming_committable():
    stuck, done = FakeMessage(428), FakeMessage(427)
    done.acked = True
    state = consumer_state([], 420, in_flight=(stuck, done))
    assert release_stuck_messages(state, 8.0) == 1
    assert stuck.acked and not state._unacked_messages - {done}
    assert state._acked[TELEMETRY_0] == []


def test_a_wait_that_outlasts_its_limit_is_ended_by_the_timeout_action():
    async def scenario() -> list[str]:
        seen: list[str] = []
        released = asyncio.Event()

        async def wait_for_acks() -> None:  # like wait_empty: ends once nothing is waited for
            await released.wait()
            seen.append("wait ended")

        def release() -> None:
            seen.append("released")
            released.set()

        await wait_at_most(wait_for_acks(), 0.05, release)
        return seen

    assert asyncio.run(scenario()) == ["released", "wait ended"]


def test_a_wait_within_its_limit_is_left_alone():
    async def scenario() -> list[str]:
        seen: list[str] = []

        async def quick() -> None:
            seen.append("wait ended")

        await wait_at_most(quick(), 5.0, lambda: seen.append("released"))
        return seen

    assert asyncio.run(scenario()) == ["wait ended"]


def test_bound_wait_empty_can_be_set_again_without_stacking():
    bound_wait_empty(8.0)
    first = Consumer.wait_empty.__wrapped__
    bound_wait_empty(4.0)
    assert Consumer.wait_empty.__wrapped__ is first
