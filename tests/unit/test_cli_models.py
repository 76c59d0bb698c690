"""`hcp models` commands: the file interfaces of the issue, and clear errors for bad files."""

import polars as pl
import pytest
from typer.testing import CliRunner

from hcp.cli import app
from models.exceptions import InputDataError

pytestmark = pytest.mark.shared_data

runner = CliRunner()


@pytest.fixture(scope="module")
def traces(shared_data_dir):
    return shared_data_dir / "traces"


def test_classify_writes_name_predicted_qos_and_a_probability_per_class(traces, tmp_path):
    pods = pl.read_csv(traces / "alibaba_gpu_v2023_pods.csv").head(40).drop("qos")
    pods.write_csv(tmp_path / "pods.csv")
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["models", "classify", "--input", str(tmp_path / "pods.csv"), "--out", str(out),
                                 "--home", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    assert "no promoted classifier registered" in result.output
    predictions = pl.read_csv(out)
    assert predictions.columns == ["name", "predicted_qos", "prob_LS", "prob_BE", "prob_Burstable", "prob_Guaranteed"]
    assert predictions["name"].to_list() == pods["name"].to_list()


def test_forecast_demand_writes_one_row_per_hour_after_the_history(traces, tmp_path):
    out = tmp_path / "fc.csv"
    history = traces / "genai_requests_2024-11-15_2024-11-30.csv"
    result = runner.invoke(app, ["models", "forecast-demand", "--history", str(history), "--horizon-hours", "30",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    forecast = pl.read_csv(out)
    assert forecast.columns == ["hour", "requests", "requests_lo", "requests_hi"]
    assert len(forecast) == 30
    assert forecast["hour"][0] == "2024-12-01 00:00:00"


def test_forecast_prices_writes_origin_hour_price_for_each_day(shared_data_dir, tmp_path):
    out = tmp_path / "fc.csv"
    history = shared_data_dir / "ercot" / "dam_spp_hourly_2022_2023.csv"
    result = runner.invoke(app, ["models", "forecast-prices", "--history", str(history), "--node", "HB_WEST",
                                 "--start", "2022-03-01", "--days", "2", "--horizon-hours", "24", "--out", str(out)])
    assert result.exit_code == 0, result.output
    forecast = pl.read_csv(out)
    assert forecast.columns == ["origin", "hour", "price"]
    assert forecast["origin"].unique().sort().to_list() == ["2022-03-01", "2022-03-02"]
    assert len(forecast) == 48 and forecast["hour"][0] == "2022-03-01 00:00:00"


def test_a_file_missing_columns_is_refused_naming_them(tmp_path):
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"name": ["p"], "num_gpu": [1]}).write_csv(bad)
    result = runner.invoke(app, ["models", "classify", "--input", str(bad), "--out", str(tmp_path / "o.csv")])
    assert isinstance(result.exception, InputDataError)
    assert "lacks column(s) cpu_milli, memory_mib, gpu_milli, creation_time" in str(result.exception)


def test_too_little_price_history_is_refused(shared_data_dir, tmp_path):
    history = shared_data_dir / "ercot" / "dam_spp_hourly_2022_2023.csv"
    result = runner.invoke(app, ["models", "forecast-prices", "--history", str(history), "--node", "HB_WEST",
                                 "--start", "2022-01-05", "--out", str(tmp_path / "o.csv")])
    assert isinstance(result.exception, InputDataError)
    assert "needs at least 7" in str(result.exception)
