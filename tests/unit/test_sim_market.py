import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from hcp.codec import decode_record
from hcp.economics import ASIC_MODELS, breakeven_usd_per_mwh
from hcp.exceptions import ConfigError
from hcp.records import PriceKind
from simulators.market import SyntheticMarket
from simulators.ticks import MARKET_TZ

NODES = ("HB_WEST", "LZ_WEST", "HB_NORTH")
START = datetime(2023, 1, 16, tzinfo=UTC)


def collect(market: SyntheticMarket, start: datetime, hours: float, step_s: int = 60):
    """(returned_at, tick) for every tick returned by calls every `step_s` from `start`."""
    out = []
    for k in range(int(hours * 3600 / step_s) + 1):
        now = start + timedelta(seconds=k * step_s)
        out.extend((now, tick) for tick in market.ticks_due(now))
    return out


def test_rt_price_is_published_when_its_interval_ends_and_not_before():
    returned = collect(SyntheticMarket(NODES, START, seed=1), START, 6)
    rt = [(at, t) for at, t in returned if t.kind is PriceKind.ENERGY_RT]
    assert len(rt) == len(NODES) * (6 * 4 + 1)
    for at, tick in rt:
        assert tick.interval_end - tick.interval_start == timedelta(minutes=15)
        assert tick.event_time == tick.interval_end
        assert tick.event_time <= at < tick.event_time + timedelta(minutes=1)


@pytest.mark.parametrize(
    "start",
    [
        START,
        datetime(2023, 7, 3, 20, 30, tzinfo=UTC),  # 15:30 Central: just after the daily spike time
        datetime(2023, 3, 12, 5, 7, tzinfo=UTC),  # a daylight-saving day, off the grid
        datetime(2023, 1, 16, 13, 0, tzinfo=UTC),
    ],
)
def test_every_first_day_has_a_spike_above_every_breakeven_lasting_two_intervals(start):
    market = SyntheticMarket(NODES, start, seed=11)
    ticks = [t for _, t in collect(market, start, 24, step_s=900) if t.event_time <= start + timedelta(hours=24)]
    hashprice = max(t.value for t in ticks if t.kind is PriceKind.HASHPRICE)
    strike = max(breakeven_usd_per_mwh(hashprice, m.joules_per_th()) for m in ASIC_MODELS.values())
    threshold = max(strike, 200.0)
    for node in NODES:
        rt = sorted((t for t in ticks if t.kind is PriceKind.ENERGY_RT and t.node == node), key=lambda t: t.event_time)
        above = [t.value > threshold for t in rt]
        assert any(a and b for a, b in itertools.pairwise(above)), f"no two-interval spike at {node}"


def test_day_ahead_curve_is_published_at_ten_the_day_before():
    market = SyntheticMarket(NODES, START, seed=2)
    da = [t for _, t in collect(market, START, 72, step_s=900) if t.kind is PriceKind.ENERGY_DA]
    days = {}
    for tick in da:
        day = tick.interval_start.astimezone(MARKET_TZ).date()
        days.setdefault(day, []).append(tick)
        assert tick.event_time <= max(START, tick.interval_start)
        if tick.event_time > START:
            local = tick.event_time.astimezone(MARKET_TZ)
            assert local.time() == time(10) and local.date() == day - timedelta(days=1)
    assert len(days) >= 4
    assert all(len(ticks) == 24 * len(NODES) for ticks in days.values())


def test_ticks_do_not_depend_on_how_often_they_are_asked_for():
    often = [t.to_json() for _, t in collect(SyntheticMarket(NODES, START, seed=4), START, 30, step_s=60)]
    rarely = [t.to_json() for _, t in collect(SyntheticMarket(NODES, START, seed=4), START, 30, step_s=3600)]
    other = [t.to_json() for _, t in collect(SyntheticMarket(NODES, START, seed=5), START, 30, step_s=3600)]
    assert sorted(often) == sorted(rarely)
    assert sorted(often) != sorted(other)


def test_a_month_has_plausible_hashprice_rentals_and_some_negative_prices():
    ticks = [t for _, t in collect(SyntheticMarket(NODES, START, seed=3), START, 24 * 30, step_s=3600)]
    hashprices = [t.value for t in ticks if t.kind is PriceKind.HASHPRICE]
    # The day before the start is known at the start, then one a day.
    assert len(hashprices) == 31 and all(40 <= h <= 80 for h in hashprices)
    assert len([t for t in ticks if t.kind is PriceKind.BTC]) == 31
    for gpu_type, base in {"H100": 2.0, "A100": 1.2, "L40S": 0.9}.items():
        rates = [t.value for t in ticks if t.kind is PriceKind.GPU_RENTAL and t.gpu_type == gpu_type]
        assert len(rates) == 24 * 30 + 1
        assert all(base / 2 < r < base * 2 for r in rates)
    rt = [t.value for t in ticks if t.kind is PriceKind.ENERGY_RT]
    assert min(rt) < 0
    assert max(rt) <= 5000


def test_every_tick_round_trips_through_the_codec():
    for _, tick in collect(SyntheticMarket(NODES, START, seed=6), START, 26, step_s=900):
        assert decode_record(tick.topic, tick.to_json()) == tick


def test_market_without_nodes_is_a_config_error():
    with pytest.raises(ConfigError):
        SyntheticMarket((), START, seed=1)
