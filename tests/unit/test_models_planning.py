"""Capacity planning from forecasts: firm AI work first, best effort when it pays, ASICs under their strike."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hcp.fleet import load_fleet
from models.planning import SiteCapacity, plan_hours, site_capacity, summarise_plan

T0 = datetime(2023, 1, 17, tzinfo=UTC)
SITE = SiteCapacity(
    site_id="s", node="HB_WEST", power_cap_mw=1.0, gpus=100, mw_per_gpu=0.001, asic_mw=0.8,
    asic_breakeven_usd_mwh=100.0, gpu_rate_usd_per_gpu_hour=2.0, best_effort_rate_usd_per_gpu_hour=1.0,
    best_effort_fill=0.5,
)


def hours(*prices):
    return [(T0 + timedelta(hours=i), p) for i, p in enumerate(prices)]


def test_a_cheap_hour_runs_firm_and_best_effort_gpus_then_asics_for_the_rest_of_the_cap():
    [plan] = plan_hours(SITE, hours(30.0), [40.0])
    assert plan.gpus_firm == 40 and plan.gpus_best_effort == 30  # half of the 60 idle GPUs
    assert plan.gpu_mw == pytest.approx(0.07)
    assert plan.mining and plan.asic_mw == pytest.approx(0.8)
    revenue = 40 * 2.0 + 30 * 1.0 + 0.8 * 100.0
    assert plan.expected_margin_usd == pytest.approx(revenue - (0.07 + 0.8) * 30.0)


def test_a_price_above_the_strike_stops_mining_but_not_firm_ai_work():
    [plan] = plan_hours(SITE, hours(150.0), [40.0])
    assert not plan.mining and plan.asic_mw == 0.0
    assert plan.gpus_firm == 40 and plan.gpu_share == 1.0


def test_a_spike_above_what_best_effort_work_earns_per_mwh_idles_best_effort_gpus():
    [plan] = plan_hours(SITE, hours(1500.0), [40.0])  # best effort earns 1 USD / 0.001 MW = 1000 USD/MWh
    assert plan.gpus_best_effort == 0 and plan.gpus_firm == 40


def test_asics_get_only_what_the_gpus_leave_under_the_cap():
    tight = replace(SITE, power_cap_mw=0.5)
    [plan] = plan_hours(tight, hours(30.0), [100.0])
    assert plan.gpu_mw == pytest.approx(0.1)
    assert plan.asic_mw == pytest.approx(0.4)


def test_summary_counts_best_effort_gpu_hours_mining_hours_and_margin():
    plans = plan_hours(SITE, hours(30.0, 150.0), [40.0, 40.0])
    summary = summarise_plan(plans)
    assert summary.mining_hours == 1
    assert summary.best_effort_gpu_hours == pytest.approx(60.0)
    assert summary.expected_margin_usd == pytest.approx(sum(p.expected_margin_usd for p in plans))


def test_demo_site_capacity_counts_gpus_and_a_breakeven_between_its_models_strikes():
    west = next(s for s in load_fleet().sites if s.site_id == "west-1")
    capacity = site_capacity(west, hashprice=60.0)
    assert capacity.gpus == 320
    assert capacity.mw_per_gpu == pytest.approx(700 * 1.3 / 1e6)
    assert 60 * 1000 / (24 * 29.5) < capacity.asic_breakeven_usd_mwh < 60 * 1000 / (24 * 17.5)
