"""Faust's commit point with offsets acknowledged twice (streams/commits.py, docs/commit-stalls.md)."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.types import TP

from streams.commits import keep_acked_offsets_unique, unique_offsets

TELEMETRY_0 = TP("telemetry.asic", 0)


def consumer_state(acked: list[int], committed: int | None) -> SimpleNamespace:
    """The attributes `Consumer._new_offset` reads, as a consumer holds them."""
    return SimpleNamespace(
        _acked=defaultdict(list, {TELEMETRY_0: list(acked)}),
        _acked_index=defaultdict(set, {TELEMETRY_0: set(acked)}),
        _gap=defaultdict(list),
        _committed_offset=defaultdict(lambda: None, {TELEMETRY_0: committed}),
    )


def test_offsets_acknowledged_twice_no_longer_hold_the_commit_back_to_one_offset():
    # As seen in a stalled worker: each offset of a re-fetched range acknowledged twice.
    acked = [offset for offset in range(84, 170) for _ in range(2)]
    keep_acked_offsets_unique()
    assert Consumer._new_offset(consumer_state(acked, 84), TELEMETRY_0) == 170


def test_the_commit_point_still_stops_at_the_first_offset_not_acknowledged():
    acked = [80, 80, 81, 82, 82, 84, 85]  # 83 not acknowledged yet
    keep_acked_offsets_unique()
    state = consumer_state(acked, 80)
    assert Consumer._new_offset(state, TELEMETRY_0) == 83
    assert state._acked[TELEMETRY_0] == [84, 85]


def test_unique_offsets_sorts_and_drops_repeats_in_place():
    acked = [86, 84, 85, 84, 86]
    unique_offsets(acked)
    assert acked == [84, 85, 86]
