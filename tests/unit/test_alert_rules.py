"""The stream alert rules: each fires on its fault, stays quiet (dedup) while it lasts and resolves after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hcp.alerting import RULES, AlertEvaluator, AlertSettings
from hcp.fleet import load_fleet
from hcp.records import (
    AlertStatus,
    AsicTelemetry,
    Decision,
    DecisionKind,
    GpuTelemetry,
    PriceKind,
    PriceTick,
    Severity,
)

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def asic(device_id: str = "west-1-s21-0001", **changes: object) -> dict:
    reading = {"device_id": device_id, "model": "S21", "power_state": "normal", "hashrate_th": 200.0,
               "power_w": 3500.0, "temp_inlet_c": 20.0, "temp_chip_c": 75.0, "fan_rpm": 5000,
               "hashboards_ok": 3, "errors": 0}
    return reading | changes


def gpu(device_id: str = "west-1-h100-0001", **changes: object) -> dict:
    reading = {"device_id": device_id, "gpu_type": "H100", "utilisation_pct": 90.0, "memory_used_gib": 40.0,
               "memory_total_gib": 80.0, "power_w": 600.0, "temp_c": 70.0, "ecc_errors": 0,
               "job_id": "job-1", "customer_id": "acme-ai", "priority": 5}
    return reading | changes


def asic_poll(minute: int, *readings: dict) -> AsicTelemetry:
    return AsicTelemetry(event_id=f"a{minute}", event_time=T0 + timedelta(minutes=minute), site_id="west-1",
                         collector_id="west-1-asic-c01", interval_s=60, readings=readings)


def gpu_poll(minute: int, *readings: dict) -> GpuTelemetry:
    return GpuTelemetry(event_id=f"g{minute}", event_time=T0 + timedelta(minutes=minute), site_id="west-1",
                        collector_id="west-1-gpu-c01", interval_s=60, readings=readings)


def rt_price(minute: int, value: float, kind: PriceKind = PriceKind.ENERGY_RT) -> PriceTick:
    unit = "USD/MWh" if kind is PriceKind.ENERGY_RT else "USD/PH/day"
    node = "HB_WEST" if kind is PriceKind.ENERGY_RT else None
    start = T0 + timedelta(minutes=minute)
    return PriceTick(event_id=f"p{minute}", event_time=start, kind=kind, node=node, interval_start=start,
                     interval_end=start + timedelta(minutes=15), value=value, unit=unit)


@pytest.fixture
def evaluator() -> AlertEvaluator:
    return AlertEvaluator(load_fleet(), AlertSettings())


def rules_of(alerts: list, status: AlertStatus = AlertStatus.FIRING) -> list[str]:
    return sorted(a.rule for a in alerts if a.status is status)


def test_there_are_at_least_fifteen_rules_each_with_a_threshold_setting() -> None:
    assert len(RULES) >= 15
    assert all(rule.setting in AlertSettings.model_fields for rule in RULES.values())


@pytest.mark.parametrize(
    ("fault", "rule"),
    [
        ({"temp_chip_c": 101.0}, "asic_overheat"),
        ({"hashrate_th": 120.0}, "asic_hashrate_drop"),
        ({"hashboards_ok": 2, "power_w": 2450.0, "hashrate_th": 133.0}, "asic_hashboard_down"),
        ({"fan_rpm": 0}, "asic_fan_failure"),
    ],
)
def test_an_asic_fault_fires_once_and_resolves_when_it_clears(evaluator, fault, rule) -> None:
    assert evaluator.on_asic(asic_poll(0, asic())) == []
    fired = evaluator.on_asic(asic_poll(1, asic(**fault)))
    assert rules_of(fired) == [rule]
    assert fired[0].event_time == T0 + timedelta(minutes=1)
    assert evaluator.on_asic(asic_poll(2, asic(**fault))) == []  # dedup while it lasts
    resolved = evaluator.on_asic(asic_poll(3, asic()))
    assert rules_of(resolved, AlertStatus.RESOLVED) == [rule]
    assert resolved[0].alert_id == fired[0].alert_id


def test_a_ramping_asic_is_not_a_hashrate_drop(evaluator) -> None:
    ramping = asic(hashrate_th=120.0, power_w=2200.0)  # reports normal, power moving towards low
    assert evaluator.on_asic(asic_poll(0, ramping)) == []


def test_a_device_missing_from_its_collector_is_offline_until_it_reports_again(evaluator) -> None:
    evaluator.on_gpu(gpu_poll(0, gpu(), gpu("west-1-h100-0002")))
    fired = evaluator.on_gpu(gpu_poll(1, gpu()))
    assert [(a.rule, a.device_id) for a in fired] == [("device_offline", "west-1-h100-0002")]
    back = evaluator.on_gpu(gpu_poll(2, gpu(), gpu("west-1-h100-0002")))
    assert rules_of(back, AlertStatus.RESOLVED) == ["device_offline"]


@pytest.mark.parametrize(
    ("fault", "rule"),
    [({"temp_c": 95.0}, "gpu_overheat"), ({"ecc_errors": 2}, "gpu_ecc_errors"),
     ({"utilisation_pct": 0.0}, "gpu_stuck_job")],
)
def test_a_gpu_fault_fires_and_resolves(evaluator, fault, rule) -> None:
    assert rules_of(evaluator.on_gpu(gpu_poll(0, gpu(**fault)))) == [rule]
    assert rules_of(evaluator.on_gpu(gpu_poll(1, gpu())), AlertStatus.RESOLVED) == [rule]


def test_an_idle_gpu_is_not_stuck(evaluator) -> None:
    assert evaluator.on_gpu(gpu_poll(0, gpu(utilisation_pct=0.5, job_id=None, customer_id=None, priority=None))) == []


def test_price_spike_and_negative_price_fire_per_node_and_resolve(evaluator) -> None:
    spike = evaluator.on_price(rt_price(0, 2500.0))
    assert rules_of(spike) == ["price_spike"] and spike[0].severity is Severity.CRITICAL
    assert rules_of(evaluator.on_price(rt_price(15, -5.0))) == ["negative_price"]
    assert rules_of(evaluator.on_price(rt_price(30, 30.0)), AlertStatus.RESOLVED) == ["negative_price"]


def test_hashprice_move_compares_with_the_previous_tick(evaluator) -> None:
    assert evaluator.on_price(rt_price(0, 50.0, PriceKind.HASHPRICE)) == []
    assert rules_of(evaluator.on_price(rt_price(1, 56.0, PriceKind.HASHPRICE))) == ["hashprice_move"]
    assert rules_of(evaluator.on_price(rt_price(2, 57.0, PriceKind.HASHPRICE)), AlertStatus.RESOLVED) == [
        "hashprice_move"
    ]


def decision(kind: DecisionKind, reason: str, minute: int = 0) -> Decision:
    at = T0 + timedelta(minutes=minute)
    return Decision(event_id=f"d{kind}{minute}", event_time=at, decision_id=f"d{minute}", site_id="west-1",
                    kind=kind, subject="job-9", interval_start=at, action=kind.value, reason=reason,
                    queue_wait_s=400.0)


def test_an_ls_sla_breach_fires_and_the_placement_resolves_it(evaluator) -> None:
    fired = evaluator.on_decision(decision(DecisionKind.SLA_BREACH, "LS job waited 400s in queue; its SLA is 300s"))
    assert rules_of(fired) == ["ls_job_sla"]
    assert evaluator.on_decision(decision(DecisionKind.SLA_BREACH, "BE job waited 9000s")) == []
    resolved = evaluator.on_decision(decision(DecisionKind.PLACEMENT, "placed", minute=3))
    assert rules_of(resolved, AlertStatus.RESOLVED) == ["ls_job_sla"]


def test_a_site_above_its_cap_fires(evaluator) -> None:
    hot = [asic(f"west-1-s21-{i:04d}") for i in range(600)]  # 600 x 3.5 kW = 2.1 MW > 1.01 x 2.05 MW
    assert rules_of(evaluator.on_asic(asic_poll(0, *hot))) == ["site_above_cap"]
    lower = [asic(f"west-1-s21-{i:04d}", power_w=3436.0) for i in range(600)]  # 2.0616 MW: within the hysteresis
    assert evaluator.on_asic(asic_poll(1, *lower)) == []
    cool = [asic(f"west-1-s21-{i:04d}", power_w=3000.0) for i in range(600)]  # 1.8 MW
    assert rules_of(evaluator.on_asic(asic_poll(2, *cool)), AlertStatus.RESOLVED) == ["site_above_cap"]


def test_pipeline_lag_and_deadletter_rate(evaluator) -> None:
    now = datetime.now(UTC)
    evaluator.deadletters.add(now.timestamp(), 50)
    fired = evaluator.on_pipeline({("hcp", "telemetry.asic"): 20_000, ("hcp", "decisions"): 3}, now)
    assert rules_of(fired) == ["consumer_lag", "deadletter_rate"]
    later = now + timedelta(seconds=120)
    assert rules_of(evaluator.on_pipeline({}, later), AlertStatus.RESOLVED) == ["consumer_lag", "deadletter_rate"]


def test_an_open_overheat_alert_holds_until_the_chip_cools_past_the_hysteresis(evaluator) -> None:
    limit, band = AlertSettings().asic_chip_temp_max_c, AlertSettings().temp_hysteresis_c
    assert rules_of(evaluator.on_asic(asic_poll(0, asic(temp_chip_c=limit + 1)))) == ["asic_overheat"]
    assert evaluator.on_asic(asic_poll(1, asic(temp_chip_c=limit - band + 1))) == []  # within the band: still open
    resolved = evaluator.on_asic(asic_poll(2, asic(temp_chip_c=limit - band - 1)))
    assert rules_of(resolved, AlertStatus.RESOLVED) == ["asic_overheat"]
    assert evaluator.on_asic(asic_poll(3, asic(temp_chip_c=limit - 1))) == []  # below the limit: no new incident
