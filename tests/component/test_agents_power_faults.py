"""Fault: the decision logic raises for one key. The agent keeps deciding; the failed event is dead-lettered."""

from __future__ import annotations

import pytest

from hcp.records import DeadLetter, Decision
from hcp.topics import DEAD_LETTERS, DECISIONS, MARKET_PRICES
from streams.power.controller import SiteController

from .test_agents_power import control, delivered_now, hashprice_tick, patch_sends, rt_tick

pytestmark = pytest.mark.component


@pytest.fixture
def captured(monkeypatch):
    """Every record the agent sends: (topic, key, value, headers)."""
    records = []

    def deliver(topic, key, value, headers):
        records.append((topic, key, value, dict(headers or [])))
        return delivered_now()

    patch_sends(monkeypatch, deliver)
    return records


def decisions(captured):
    return [Decision.model_validate_json(value) for topic, _, value, _ in captured if topic == DECISIONS]


def test_an_exception_for_one_price_dead_letters_it_and_later_prices_are_still_decided(
    tmp_path, captured, monkeypatch
):
    real = SiteController.on_price

    def flaky(self, tick):
        if tick.event_id == "rt:2":
            raise ZeroDivisionError("injected fault for one interval")
        return real(self, tick)

    monkeypatch.setattr(SiteController, "on_price", flaky)
    prices = [hashprice_tick(), rt_tick(30.0, 1), rt_tick(35.0, 2), rt_tick(32.0, 3)]
    control(tmp_path, [(MARKET_PRICES, p) for p in prices], lambda app: len(decisions(captured)) == 2)

    assert [d.interval_start for d in decisions(captured)] == [rt_tick(0, 1).interval_end, rt_tick(0, 3).interval_end]
    [(_, key, value, headers)] = [item for item in captured if item[0] == DEAD_LETTERS]
    assert (key, value) == (b"k", rt_tick(35.0, 2).to_json())
    letter = DeadLetter.from_headers(headers)
    assert (letter.original_topic, letter.original_offset, letter.error_class) == (
        MARKET_PRICES, 2, "ZeroDivisionError")
    assert "site control failed: injected fault" in letter.error_message
