"""The Done-when criteria of issue 3 on the recorded January 2023 prices (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hcp.backtest import BacktestRequest, run_backtest
from hcp.backtest.inputs import read_fleet, read_hashprice, read_node_prices
from hcp.backtest.replay import replay_month
from hcp.policy import DEFAULT_POLICY

pytestmark = pytest.mark.shared_data

FLEET_YAML = """asic_models:
  - {name: S19j Pro, count: 1000, hashrate_th: 100, power_w: 2950}
  - {name: S19 XP, count: 1000, hashrate_th: 140, power_w: 3010}
  - {name: S21, count: 1000, hashrate_th: 200, power_w: 3500}
"""


def run_month(shared_data_dir: Path, tmp_path: Path, node: str) -> dict:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET_YAML)
    _, summary = run_backtest(
        BacktestRequest(
            rt_prices=shared_data_dir / "ercot" / "rtm_spp_15min_jan2022_jan2023.csv",
            da_prices=shared_data_dir / "ercot" / "dam_spp_hourly_2022_2023.csv",
            node=node,
            hashprice=shared_data_dir / "bitcoin" / "hashprice_daily_2022_2023.csv",
            fleet=fleet,
            month="2023-01",
            out=tmp_path / node,
        )
    )
    return summary


@pytest.mark.parametrize("node", ["HB_WEST", "LZ_WEST"])
def test_policy_on_january_2023_stays_close_to_hindsight(shared_data_dir, tmp_path, node):
    summary = run_month(shared_data_dir, tmp_path, node)
    for model, figures in summary["models"].items():
        assert figures["policy_usd"] > figures["always_on_usd"], model
        assert figures["share_of_optimal"] >= 0.97, model


@pytest.mark.xfail(
    strict=True,
    reason="not met yet: with thresholds chosen on January 2022 the policy trails the hysteresis anchor on "
    "HB_WEST and stays below 0.99 of hindsight on LZ_WEST (see docs/backtest.md)",
)
@pytest.mark.parametrize("node", ["HB_WEST", "LZ_WEST"])
def test_policy_beats_both_anchors_and_keeps_99_percent_of_hindsight(shared_data_dir, tmp_path, node):
    summary = run_month(shared_data_dir, tmp_path, node)
    for model, figures in summary["models"].items():
        assert figures["policy_usd"] > figures["lag1_usd"], model
        assert figures["policy_usd"] > figures["hysteresis_usd"], model
        assert figures["share_of_optimal"] >= 0.99, model


def test_recorded_prices_after_t_do_not_change_decisions_before_t(shared_data_dir, tmp_path):
    rt = read_node_prices(shared_data_dir / "ercot" / "rtm_spp_15min_jan2022_jan2023.csv", "LZ_WEST", "rt")
    da = read_node_prices(shared_data_dir / "ercot" / "dam_spp_hourly_2022_2023.csv", "LZ_WEST", "da")
    hashprice = read_hashprice(shared_data_dir / "bitcoin" / "hashprice_daily_2022_2023.csv")
    (tmp_path / "fleet.yaml").write_text(FLEET_YAML)
    fleet = read_fleet(tmp_path / "fleet.yaml")
    cut = pl.datetime(2023, 1, 15, 12)
    later = pl.col("ts") >= cut
    shocked = rt.with_columns(pl.when(later).then(pl.col("price") * 7 + 500).otherwise(pl.col("price")))
    before = replay_month(rt, da, hashprice, fleet, "LZ_WEST", 2023, 1, DEFAULT_POLICY)
    after = replay_month(shocked, da, hashprice, fleet, "LZ_WEST", 2023, 1, DEFAULT_POLICY)
    # the interval starting at the cut is decided before its own price is known, so it is unchanged too
    keep = before.intervals.with_row_index().filter(pl.col("ts") <= cut)["index"].max() + 1
    for original, changed in zip(before.models, after.models, strict=True):
        np.testing.assert_array_equal(original.run_fractions[:keep], changed.run_fractions[:keep])
        assert not np.array_equal(original.run_fractions[keep:], changed.run_fractions[keep:])
