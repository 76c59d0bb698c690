"""Fault: duplicated, out-of-order and late real-time prices against an in-order replay (site controller, pure).

Bound (docs/reliability.md): a duplicated price decides nothing again, so decisions equal the in-order replay's.
A price older than one already decided on (late, out of order) only updates nothing and decides nothing: the
interval it would have opened was already decided from a later price.
"""

import random

from streams.power.controller import SiteController

from .test_site_control import FLEET, hashprice, rt

PRICES = [30.0, 32.0, 400.0, 900.0, 950.0, 40.0, 35.0, 31.0, 500.0, 33.0, 30.0, 29.0]


def decisions(ticks):
    controller = SiteController(FLEET)
    controller.on_price(hashprice())
    found: dict[str, list[dict]] = {}
    for tick in ticks:
        for decision in controller.on_price(tick).decisions:
            content = decision.model_dump(exclude={"event_id", "event_time"})
            versions = found.setdefault(decision.decision_id, [])
            if content not in versions:
                versions.append(content)  # a second, different decision for one interval would show here
    return found


def in_order():
    return [rt(value, i) for i, value in enumerate(PRICES)]


def test_duplicated_prices_decide_exactly_as_an_in_order_replay():
    rng = random.Random(3)
    doubled = [copy for tick in in_order() for copy in ([tick, tick] if rng.random() < 0.5 else [tick])]
    assert decisions(doubled) == decisions(in_order())


def test_a_late_price_decides_nothing_and_later_intervals_are_unchanged():
    ticks = in_order()
    late = ticks[5]
    shuffled = ticks[:5] + ticks[6:8] + [late] + ticks[8:]  # interval 5's price arrives after interval 7's
    assert decisions(shuffled) == decisions(ticks[:5] + ticks[6:])
