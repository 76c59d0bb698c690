"""The demand forecaster: beats same-hour-last-week in MASE on the last 7 days, is repeatable, refuses short history."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from models.demand import demand_gate, evaluate_demand, hourly_demand, predict_demand, train_demand
from models.exceptions import InputDataError

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def hourly(shared_data_dir):
    return hourly_demand(pl.read_csv(shared_data_dir / "traces" / "genai_requests_2024-11-15_2024-11-30.csv"))


def test_forecaster_beats_same_hour_last_week_in_mase_on_the_last_week(hourly):
    evaluation = evaluate_demand(hourly, seed=7)
    table = evaluation.table
    assert evaluation.test_hours == 168
    assert table["requests:prophet"]["mase"] < table["requests:same_hour_last_week"]["mase"]
    assert demand_gate(evaluation)[0]
    assert evaluate_demand(hourly, seed=7).table == table  # repeatable


def test_forecast_covers_each_hour_after_the_history_with_an_interval(hourly):
    forecast = predict_demand(train_demand(hourly, seed=7), 48)
    assert forecast.columns == ["hour", "requests", "requests_lo", "requests_hi"]
    assert forecast["hour"].to_list() == [hourly["hour"].max() + timedelta(hours=h) for h in range(1, 49)]
    assert (forecast["requests_lo"] <= forecast["requests"]).all()
    assert (forecast["requests"] <= forecast["requests_hi"]).all()
    assert (forecast["requests_lo"] >= 0).all()


def test_hours_without_requests_count_as_zero():
    frame = pl.DataFrame({"gmt_create": ["2024-11-15 10:05:00", "2024-11-15 12:59:00"], "exec_time_seconds": [36, 72]})
    hourly = hourly_demand(frame)
    assert hourly["hour"].to_list() == [datetime(2024, 11, 15, h) for h in (10, 11, 12)]
    assert hourly["requests"].to_list() == [1, 0, 1]
    assert hourly["gpu_hours"].to_list() == [0.01, 0, 0.02]


def test_too_little_history_is_refused_with_the_hours_needed():
    frame = pl.DataFrame({"gmt_create": ["2024-11-15 10:05:00", "2024-11-15 15:00:00"]})
    with pytest.raises(InputDataError, match="spans 6 hours; the forecaster needs at least 24"):
        train_demand(hourly_demand(frame), seed=7)


def test_requests_without_a_submission_time_column_are_refused():
    with pytest.raises(InputDataError, match="lacks column"):
        hourly_demand(pl.DataFrame({"created": ["2024-11-15 10:05:00"]}))
