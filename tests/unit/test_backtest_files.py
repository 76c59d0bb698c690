"""Tiny hand-made files for the backtest; expected values are computed here, independently of hcp.policy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from hcp.backtest import BacktestRequest, run_backtest
from hcp.exceptions import ConfigError

NODES = ("HB_WEST", "LZ_WEST")
S21 = {"name": "S21", "count": 10, "hashrate_th": 200.0, "power_w": 3500.0}
OLD = {"name": "Old", "count": 3, "hashrate_th": 100.0, "power_w": 3000.0}
RT_PRICES = [20.0, 300.0, 400.0, 30.0, -5.0, 50.0, 250.0, 40.0]
HASHPRICE = {"2023-02-28": 60.0, "2023-03-01": 70.0, "2023-03-02": 90.0}


def write_files(tmp_path: Path, rt_prices=RT_PRICES, with_da=True) -> dict[str, Path]:
    rt = tmp_path / "rt.csv"
    rows = [f"2023-03-01 {h:02d}:{m:02d}:00,{p},{p + 1}" for (h, m), p in zip(_quarters(), rt_prices, strict=False)]
    rt.write_text("datetime_col," + ",".join(NODES) + "\n" + "\n".join(rows) + "\n")
    da = tmp_path / "da.csv"
    da.write_text("datetime_col,HB_WEST,LZ_WEST\n2023-03-01 01:00:00,35,36\n2023-03-01 02:00:00,45,46\n")
    hp = tmp_path / "hp.csv"
    hp.write_text("date,hashprice_usd_per_ph_day\n" + "".join(f"{d},{v}\n" for d, v in HASHPRICE.items()))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("asic_models:\n" + "".join(f"  - {json.dumps(m)}\n" for m in (S21, OLD)))
    return {"rt": rt, "da": da if with_da else None, "hp": hp, "fleet": fleet}


def _quarters():
    return [(h, m) for h in range(24) for m in (0, 15, 30, 45)]


def request(files: dict[str, Path], tmp_path: Path, node="HB_WEST", month="2023-03") -> BacktestRequest:
    return BacktestRequest(
        rt_prices=files["rt"],
        da_prices=files["da"],
        node=node,
        hashprice=files["hp"],
        fleet=files["fleet"],
        month=month,
        out=tmp_path / "out",
    )


def margin(model: dict, price: float, hashprice: float) -> float:
    hours = 0.25
    per_miner = model["hashrate_th"] / 1000 * hashprice * hours / 24 - model["power_w"] / 1e6 * price * hours
    return model["count"] * per_miner


def test_summary_values_always_on_and_hindsight_with_the_realised_hashprice(tmp_path):
    _, summary = run_backtest(request(write_files(tmp_path), tmp_path))
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved == json.loads(json.dumps(summary))
    for model in (S21, OLD):
        margins = [margin(model, p, HASHPRICE["2023-03-01"]) for p in RT_PRICES]
        figures = saved["models"][model["name"]]
        assert figures["always_on_usd"] == pytest.approx(sum(margins), abs=0.01)
        assert figures["hindsight_usd"] == pytest.approx(sum(m for m in margins if m > 0), abs=0.01)
        assert figures["share_of_optimal"] == pytest.approx(figures["policy_usd"] / figures["hindsight_usd"], abs=1e-3)
        gain = (figures["policy_usd"] - figures["always_on_usd"]) / (
            figures["hindsight_usd"] - figures["always_on_usd"]
        )
        assert figures["share_of_gain"] == pytest.approx(gain, abs=1e-3)
        assert {"lag1_usd", "hysteresis_usd"} <= figures.keys()
    total = saved["total"]
    assert total["always_on_usd"] == pytest.approx(sum(saved["models"][m]["always_on_usd"] for m in ("S21", "Old")))


def test_decisions_have_one_row_per_interval_per_model_between_zero_and_one(tmp_path):
    run_backtest(request(write_files(tmp_path), tmp_path))
    with (tmp_path / "out" / "decisions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["interval_start", "model", "run_fraction"]
    assert len(rows) == len(RT_PRICES) * 2
    assert {r["model"] for r in rows} == {"S21", "Old"}
    assert all(0.0 <= float(r["run_fraction"]) <= 1.0 for r in rows)
    assert rows[0]["interval_start"] == "2023-03-01T00:00:00"
    # After two intervals far above breakeven (300, 400 USD/MWh) the fleet is off in the third interval
    third = [r for r in rows if r["interval_start"] == "2023-03-01T00:30:00"]
    assert [float(r["run_fraction"]) for r in third] == [0.0, 0.0]
    assert (tmp_path / "out" / "chart.png").stat().st_size > 0


def test_policy_uses_yesterdays_hashprice_for_its_breakeven(tmp_path):
    # 150 USD/MWh lies between the S21's breakevens at yesterday's hashprice (60: 142.9) and today's (70: 166.7)
    prices = [150.0] * 6
    replay, _ = run_backtest(request(write_files(tmp_path, rt_prices=prices, with_da=False), tmp_path))
    s21 = next(m for m in replay.models if m.group.name == "S21")
    assert s21.run_fractions[0] == 1.0  # nothing known yet
    assert s21.run_fractions[1:].max() == 0.0  # judged against yesterday's breakeven, 150 is too dear
    assert s21.values.hindsight_usd == pytest.approx(s21.values.always_on_usd)  # realised: 150 pays


def test_share_of_gain_is_null_when_no_interval_loses_money(tmp_path):
    _, summary = run_backtest(request(write_files(tmp_path, rt_prices=[10.0, 20.0, 15.0, 5.0]), tmp_path))
    assert summary["models"]["S21"]["share_of_gain"] is None
    assert summary["models"]["S21"]["share_of_optimal"] == pytest.approx(1.0)


def test_unknown_node_error_lists_the_known_nodes(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown node 'HB_NOWHERE'.*known nodes: HB_WEST, LZ_WEST"):
        run_backtest(request(write_files(tmp_path), tmp_path, node="HB_NOWHERE"))


def test_month_without_data_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no real-time prices for 2023-04"):
        run_backtest(request(write_files(tmp_path), tmp_path, month="2023-04"))
    with pytest.raises(ConfigError, match="YYYY-MM"):
        run_backtest(request(write_files(tmp_path), tmp_path, month="March"))


def test_malformed_fleet_file_is_a_clear_error(tmp_path):
    files = write_files(tmp_path)
    files["fleet"].write_text("asic_models: [{name: S21, count: 10, hashrate_th: 200}\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        run_backtest(request(files, tmp_path))
    files["fleet"].write_text("asic_models:\n  - {name: S21, count: 10, hashrate_th: 200}\n")
    with pytest.raises(ConfigError, match=r"asic_models\.0\.power_w"):
        run_backtest(request(files, tmp_path))


def test_unparsable_price_names_the_value_and_row(tmp_path):
    files = write_files(tmp_path)
    text = files["rt"].read_text().replace("300.0,301.0", "lots,301.0")
    files["rt"].write_text(text)
    with pytest.raises(ConfigError, match=r"unparsable value.*HB_WEST.*'lots' on data row 2"):
        run_backtest(request(files, tmp_path))


def test_missing_columns_are_clear_errors(tmp_path):
    files = write_files(tmp_path)
    files["hp"].write_text("day,value\n2023-03-01,70\n")
    with pytest.raises(ConfigError, match="no date column"):
        run_backtest(request(files, tmp_path))
    files = write_files(tmp_path)
    files["rt"].write_text("when,HB_WEST\n2023-03-01 00:00:00,20\n")
    with pytest.raises(ConfigError, match="no datetime_col column"):
        run_backtest(request(files, tmp_path))


def test_missing_hashprice_day_is_a_clear_error(tmp_path):
    files = write_files(tmp_path)
    files["hp"].write_text("date,hashprice_usd_per_ph_day\n2023-02-28,60\n")
    with pytest.raises(ConfigError, match="no value for 1 day"):
        run_backtest(request(files, tmp_path))
