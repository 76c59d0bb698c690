"""The price forecaster: beats both seasonal-naive baselines over a rolling origin, never looks past the origin."""

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from models.exceptions import InputDataError
from models.prices import (
    PriceHistory,
    day_ahead_history,
    evaluate_prices,
    forecast_prices,
    predict_prices,
    price_gate,
    train_price_model,
)

pytestmark = pytest.mark.shared_data

FAST = {"num_boost_round": 40}


@pytest.fixture(scope="module")
def history(shared_data_dir):
    return day_ahead_history(pl.read_csv(shared_data_dir / "ercot" / "dam_spp_hourly_2022_2023.csv"), "HB_WEST")


def test_forecaster_beats_same_hour_yesterday_and_last_week_in_mae_over_the_held_back_half_year(history):
    evaluation = evaluate_prices(history, seed=7, holdout_start=datetime(2023, 7, 1))
    table = evaluation.table
    assert table["lightgbm"]["origins"] >= 180
    assert table["lightgbm"]["mae"] < table["same_hour_yesterday"]["mae"]
    assert table["lightgbm"]["mae"] < table["same_hour_last_week"]["mae"]
    assert price_gate(evaluation)[0]


def test_training_twice_with_the_same_seed_gives_the_same_metrics(history):
    first = evaluate_prices(history, 7, datetime(2023, 11, 1), datetime(2023, 11, 15), params=FAST)
    second = evaluate_prices(history, 7, datetime(2023, 11, 1), datetime(2023, 11, 15), params=FAST)
    assert first.table == second.table


def test_a_forecast_uses_no_price_from_its_origin_on(history):
    model = train_price_model(history, 7, FAST, train_end=datetime(2022, 6, 1))
    origin = datetime(2022, 7, 1)
    tampered = history.values.copy()
    tampered[history.index_of(origin) :] = 9999.0
    changed = PriceHistory(history.node, history.start, tampered)
    assert np.array_equal(predict_prices(model, history, origin, 72), predict_prices(model, changed, origin, 72))


def test_rolling_forecast_has_one_row_per_origin_and_hour(history):
    model = train_price_model(history, 7, FAST, train_end=datetime(2022, 6, 1))
    frame = forecast_prices(model, history, date(2022, 7, 1), days=3, horizon_hours=24)
    assert frame.columns == ["origin", "hour", "price"]
    assert len(frame) == 72
    assert frame["origin"].unique().sort().to_list() == [datetime(2022, 7, d) for d in (1, 2, 3)]


def test_an_origin_without_a_week_of_history_before_it_is_refused(history):
    model = train_price_model(history, 7, FAST, train_end=datetime(2022, 6, 1))
    with pytest.raises(InputDataError, match="needs 192 hours"):
        predict_prices(model, history, datetime(2022, 1, 3), 24)


def test_an_unknown_node_is_refused_naming_it():
    frame = pl.DataFrame({"datetime_col": ["2022-01-01 01:00:00"], "HB_WEST": [30.0]})
    with pytest.raises(InputDataError, match="lacks column\\(s\\) HB_NOPE"):
        day_ahead_history(frame, "HB_NOPE")
