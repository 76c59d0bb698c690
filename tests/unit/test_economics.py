import math

import pytest

from hcp.economics import (
    ASIC_MODELS,
    PowerState,
    breakeven_usd_per_mwh,
    energy_cost_usd_per_hour,
    energy_mwh,
    hashprice_usd_per_ph_day,
    mining_revenue_usd_per_hour,
)


def test_breakeven_matches_the_product_brief_example():
    # PRODUCT.md: hashprice 50 and 17.5 J/TH give about 119 USD/MWh.
    assert breakeven_usd_per_mwh(50, 17.5) == pytest.approx(119.05, abs=0.01)


def test_s21_normal_efficiency_is_its_nameplate():
    s21 = ASIC_MODELS["S21"]
    assert s21.joules_per_th(PowerState.NORMAL) == pytest.approx(17.5)
    assert math.isinf(s21.joules_per_th(PowerState.SLEEP))


def test_low_power_state_is_more_efficient_than_high():
    model = ASIC_MODELS["S19 XP"]
    assert model.joules_per_th(PowerState.LOW) < model.joules_per_th(PowerState.NORMAL)
    assert model.joules_per_th(PowerState.HIGH) > model.joules_per_th(PowerState.NORMAL)


def test_mining_margin_is_zero_at_breakeven():
    model = ASIC_MODELS["S19j Pro"]
    hashprice = 55.0
    price = breakeven_usd_per_mwh(hashprice, model.joules_per_th())
    revenue = mining_revenue_usd_per_hour(model.hashrate_th, hashprice)
    assert revenue - energy_cost_usd_per_hour(model.power_w, price) == pytest.approx(0, abs=1e-9)


def test_hashprice_formula_gives_2024_levels_for_2024_inputs():
    # ~60k USD/BTC, 3.125 subsidy, ~0.1 BTC fees per block, difficulty ~8.3e13: about 40-55 USD/PH/day.
    value = hashprice_usd_per_ph_day(60_000, 3.125, 0.1, 8.3e13)
    assert 40 < value < 60


def test_energy_of_one_megawatt_for_an_hour_is_one_mwh():
    assert energy_mwh(1e6, 3600) == pytest.approx(1.0)
