"""The metrics and health endpoint: Prometheus text, liveness, readiness, and the bearer token."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from hcp.exceptions import ConfigError
from hcp.fleet import load_fleet
from hcp.observability import HealthServer, LagSnapshot, MetricsSettings, PlatformMetrics
from hcp.records import AsicTelemetry, PriceKind, PriceTick
from hcp.settings import load_settings
from tests.conftest import free_port


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def metrics() -> PlatformMetrics:
    m = PlatformMetrics(load_fleet())
    now = datetime(2023, 1, 16, tzinfo=UTC)
    m.observe_asic(AsicTelemetry(event_id="a", event_time=now, site_id="west-1", collector_id="c1", interval_s=60,
                                 readings=[{"device_id": "d1", "model": "S21", "power_state": "normal",
                                            "hashrate_th": 200.0, "power_w": 3500.0, "temp_inlet_c": 20.0,
                                            "temp_chip_c": 80.0, "fan_rpm": 5000, "hashboards_ok": 3,
                                            "errors": 0}]), offline=2)
    m.observe_price(PriceTick(event_id="p", event_time=now, kind=PriceKind.ENERGY_RT, node="HB_WEST",
                              interval_start=now, interval_end=now.replace(minute=15), value=40.0, unit="USD/MWh"))
    m.observe_decided(0.02, 3)
    return m


def test_metrics_endpoint_serves_fleet_market_and_pipeline_metrics(metrics) -> None:
    server = HealthServer(metrics.registry, lambda: (True, {}), "127.0.0.1", free_port()).start()
    try:
        status, body = get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert status == 200
    assert 'hcp_site_hashrate_ths{site="west-1"} 200.0' in body
    assert 'hcp_site_devices{kind="asic",site="west-1",state="offline"} 2.0' in body
    assert 'hcp_energy_price_usd_mwh{market="rt",node="HB_WEST"} 40.0' in body
    assert 'hcp_site_power_cost_usd_per_hour{site="west-1"} 0.14' in body
    assert "hcp_decision_latency_seconds_count 1.0" in body


def test_readiness_reports_503_with_the_reason_and_liveness_stays_200(metrics) -> None:
    server = HealthServer(metrics.registry, lambda: (False, {"reason": "broker unreachable"}), "127.0.0.1",
                          free_port()).start()
    try:
        assert get(f"http://127.0.0.1:{server.port}/health/live")[0] == 200
        status, body = get(f"http://127.0.0.1:{server.port}/health/ready")
    finally:
        server.stop()
    assert status == 503 and "broker unreachable" in body


def test_a_token_is_required_when_set(metrics) -> None:
    server = HealthServer(metrics.registry, lambda: (True, {}), "127.0.0.1", free_port(), token="s3cret").start()
    try:
        assert get(f"http://127.0.0.1:{server.port}/metrics")[0] == 401
        assert get(f"http://127.0.0.1:{server.port}/metrics", token="wrong")[0] == 401
        assert get(f"http://127.0.0.1:{server.port}/metrics", token="s3cret")[0] == 200
    finally:
        server.stop()


def test_binding_a_non_loopback_address_without_a_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="HCP_METRICS_TOKEN"):
        load_settings(MetricsSettings, host="0.0.0.0")
    assert load_settings(MetricsSettings, host="0.0.0.0", token="t").port_for("control") == 9465


def test_lag_snapshot_sets_consumer_and_landing_lag(metrics) -> None:
    metrics.observe_lag(LagSnapshot(0.0, True, {("hcp", "telemetry.asic"): 7, ("hcp-control", "decisions"): 1},
                                    {"telemetry.asic": 100}), landing_group="hcp")
    assert metrics.registry.get_sample_value("hcp_landing_lag_messages") == 7
    assert metrics.registry.get_sample_value("hcp_consumer_lag_messages",
                                             {"group": "hcp-control", "topic": "decisions"}) == 1
