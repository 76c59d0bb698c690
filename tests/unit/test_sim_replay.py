import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hcp.codec import decode_record
from hcp.exceptions import ConfigError
from hcp.records import PriceKind
from simulators.market import ReplayMarket

NODES = ("HB_WEST", "LZ_WEST", "HB_NORTH")
# 2023-01-16 00:00 UTC is 2023-01-15 18:00 Central standard time.
START = datetime(2023, 1, 16, tzinfo=UTC)


def recorded(path: Path, stamp: str, node: str) -> float:
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["datetime_col"] == stamp:
                return float(row[node])
    raise AssertionError(f"{stamp} not in {path}")


def files(data: Path) -> dict[str, Path]:
    return {
        "rt_file": data / "ercot" / "rtm_spp_15min_jan2022_jan2023.csv",
        "da_file": data / "ercot" / "dam_spp_hourly_2022_2023.csv",
        "hashprice_file": data / "bitcoin" / "hashprice_daily_2022_2023.csv",
        "gpu_prices_dir": data / "gpu_prices",
    }


@pytest.fixture(scope="module")
def replay_ticks(shared_data_dir):
    market = ReplayMarket(**files(shared_data_dir), nodes=NODES, start=START)
    return [(START, t) for t in market.ticks_due(START)] + [
        (START + timedelta(hours=2), t) for t in market.ticks_due(START + timedelta(hours=2))
    ]


@pytest.mark.shared_data
def test_replay_publishes_recorded_rt_prices_when_their_interval_ends(replay_ticks, shared_data_dir):
    rt = [(at, t) for at, t in replay_ticks if t.kind is PriceKind.ENERGY_RT and t.node == "HB_WEST"]
    assert [t.interval_start for _, t in rt][:2] == [START - timedelta(minutes=15), START]
    assert all(t.event_time == t.interval_end <= at for at, t in rt)
    assert rt[-1][1].interval_end == START + timedelta(hours=2)
    first_in_run = rt[1][1]
    expected = recorded(files(shared_data_dir)["rt_file"], "2023-01-15 18:00:00", "HB_WEST")
    assert first_in_run.value == pytest.approx(expected)


@pytest.mark.shared_data
def test_replay_reads_day_ahead_prices_as_hour_ending(replay_ticks, shared_data_dir):
    da = {t.interval_start: t for _, t in replay_ticks if t.kind is PriceKind.ENERGY_DA and t.node == "LZ_WEST"}
    expected = recorded(files(shared_data_dir)["da_file"], "2023-01-15 19:00:00", "LZ_WEST")
    assert da[START].value == pytest.approx(expected)
    assert da[START].interval_end == START + timedelta(hours=1)
    # Known at the start: the current operating day and, after 10:00 Central, the next one.
    assert len(da) == 48


@pytest.mark.shared_data
def test_replay_knows_yesterdays_hashprice_and_gpu_rentals_at_start(replay_ticks):
    at_start = [t for at, t in replay_ticks if at == START]
    hashprice = [t for t in at_start if t.kind is PriceKind.HASHPRICE]
    assert [t.interval_start for t in hashprice] == [START - timedelta(days=1)]
    rentals = {t.gpu_type for t in at_start if t.kind is PriceKind.GPU_RENTAL}
    assert {"H100", "A100"} <= rentals
    assert all(t.event_time <= START for t in at_start)


@pytest.mark.shared_data
def test_replayed_ticks_round_trip_through_the_codec(replay_ticks):
    for _, tick in replay_ticks:
        assert decode_record(tick.topic, tick.to_json()) == tick


@pytest.mark.shared_data
def test_unknown_node_is_a_config_error(shared_data_dir):
    with pytest.raises(ConfigError, match="HB_NOWHERE"):
        ReplayMarket(**files(shared_data_dir), nodes=("HB_WEST", "HB_NOWHERE"), start=START)


@pytest.mark.shared_data
def test_start_outside_the_recorded_prices_is_a_config_error(shared_data_dir):
    with pytest.raises(ConfigError, match="no real-time price"):
        ReplayMarket(**files(shared_data_dir), nodes=NODES, start=datetime(2022, 6, 1, tzinfo=UTC))


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        ReplayMarket(tmp_path / "rt.csv", tmp_path / "da.csv", tmp_path / "hp.csv", None, NODES, START)


def test_small_recorded_files_replay_without_gpu_prices(tmp_path):
    rt = tmp_path / "rt.csv"
    rt.write_text(
        "datetime_col,HB_WEST\n2023-01-15 17:45:00,20.5\n2023-01-15 18:00:00,-3.25\n2023-01-15 18:15:00,900\n"
    )
    da = tmp_path / "da.csv"
    da.write_text("datetime_col,HB_WEST\n" + "".join(f"2023-01-15 {h:02d}:00:00,{h}.0\n" for h in range(1, 24)))
    hashprice = tmp_path / "hp.csv"
    hashprice.write_text("date,hashprice_usd_per_ph_day\n2023-01-15,61.5\n")
    market = ReplayMarket(rt, da, hashprice, None, ["HB_WEST"], START)
    ticks = market.ticks_due(START + timedelta(minutes=29))
    assert [t.value for t in ticks if t.kind is PriceKind.ENERGY_RT] == [20.5, -3.25]
    assert [t.value for t in ticks if t.kind is PriceKind.HASHPRICE] == [61.5]
    assert len([t for t in ticks if t.kind is PriceKind.ENERGY_DA]) == 23
    assert not [t for t in ticks if t.kind is PriceKind.GPU_RENTAL]
    assert [t.value for t in market.ticks_due(START + timedelta(minutes=30))] == [900.0]
