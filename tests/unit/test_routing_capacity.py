"""The per-type capacity index agrees with a plain scan of every GPU."""

import random

import pytest

from hcp.routing.capacity import Capacity
from hcp.routing.jobs import Node, PlacementPolicy


def scan_first_fit(capacity, milli, types):
    """The lowest node of `types` where `milli` fits, by brute force."""
    whole = milli // 1000
    for index, node in enumerate(capacity.nodes):
        if node.gpu_type not in types:
            continue
        free = capacity.free[index]
        if whole and sum(f == 1000 for f in free) >= whole:
            return index
        if not whole and any(f >= milli for f in free):
            return index
    return None


def fits_anywhere(capacity, milli, types):
    return scan_first_fit(capacity, milli, types) is not None


@pytest.mark.parametrize("policy", list(PlacementPolicy))
def test_index_finds_room_exactly_when_a_scan_does(policy):
    rng = random.Random(7)
    nodes = [Node(f"n{i}", rng.choice(["T4", "A10", "G2"]), rng.choice([1, 2, 4, 8])) for i in range(40)]
    capacity = Capacity(nodes)
    taken = []
    for _ in range(3000):
        if taken and rng.random() < 0.45:
            capacity.give_back(taken.pop(rng.randrange(len(taken))))
            continue
        milli = rng.choice([100, 250, 470, 810, 1000, 2000, 4000, 8000])
        types = rng.choice([["T4"], ["A10"], ["G2"], ["T4", "A10", "G2"]])
        slots = capacity.find(milli, types, policy)
        assert (slots is not None) == fits_anywhere(capacity, milli, types)
        if slots is None:
            continue
        if policy is PlacementPolicy.FIRST_FIT:
            assert slots.node == scan_first_fit(capacity, milli, types)
        assert nodes[slots.node].gpu_type in types
        assert all(capacity.free[slots.node][g] >= slots.milli for g in slots.gpus)
        assert len(slots.gpus) == max(1, milli // 1000)
        capacity.take(slots)
        taken.append(slots)
        used = sum(1000 * len(n_free) - sum(n_free) for n_free in capacity.free)
        assert used == capacity.allocated_milli


def test_best_fit_prefers_the_fullest_gpu_for_a_share():
    capacity = Capacity([Node("a", "T4", 1), Node("b", "T4", 1), Node("c", "T4", 1)])
    capacity.take(capacity.find(300, ["T4"], PlacementPolicy.FIRST_FIT))
    second = capacity.find(600, ["T4"], PlacementPolicy.FIRST_FIT)
    capacity.take(second)
    assert second.node == 0
    third = capacity.find(400, ["T4"], PlacementPolicy.BEST_FIT)
    fourth = capacity.find(50, ["T4"], PlacementPolicy.BEST_FIT)
    assert third.node == 1 and fourth.node == 0
