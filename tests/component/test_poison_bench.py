"""The poison bench measures what it says: every valid poll landed in both phases, every poison dead-lettered."""

from __future__ import annotations

import pytest

from bench.poison import measure, with_poison
from simulators.poison import valid_polls

pytestmark = pytest.mark.component


def test_poison_goes_among_the_valid_polls_at_the_share_asked():
    valid = valid_polls("share", 1000)
    mixed = with_poison(valid, 0.01, run="share")
    assert len(mixed) == 1010
    assert [m for m in mixed if m in valid] == valid, "the valid polls keep their order"


def test_both_phases_land_every_valid_poll_and_the_ratio_compares_them():
    result = measure(polls=600, readings=5, poison_share=0.02, repeats=2, batch=100)
    assert result["poison_records"] == result["dead_letters"] == 12
    assert len(result["baseline_runs"]) == len(result["with_poison_runs"]) == 2
    rates = result["with_poison_valid_per_s"] / result["baseline_valid_per_s"]
    assert result["ratio"] == pytest.approx(rates, rel=0.01)
