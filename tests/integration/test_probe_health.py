"""Health checks of the processes that consume no group (`hcp broker`, `hcp simulate`): ready when the broker
answers, not ready (503, with the reason) when it does not."""

from __future__ import annotations

import json

import pytest

from hcp.observability.endpoint import start_probe_endpoint
from hcp.observability.settings import ROLE_PORT_OFFSET, MetricsSettings
from hcp.settings import BrokerSettings
from tests.conftest import free_port
from tests.unit.test_metrics_endpoint import get

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("role", ["broker", "simulator"])
def test_probe_endpoint_is_ready_while_the_real_broker_answers(platform, role) -> None:
    server = start_probe_endpoint(platform.broker, MetricsSettings(port=free_port() - ROLE_PORT_OFFSET[role]), role)
    assert server is not None
    try:
        assert get(f"http://127.0.0.1:{server.port}/health/live")[0] == 200
        status, body = get(f"http://127.0.0.1:{server.port}/health/ready")
    finally:
        server.stop()
    assert status == 200
    assert json.loads(body)["topics"] > 0


def test_probe_endpoint_is_not_ready_without_a_broker() -> None:
    nowhere = BrokerSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    settings = MetricsSettings(port=free_port() - ROLE_PORT_OFFSET["simulator"])
    server = start_probe_endpoint(nowhere, settings, "simulator")
    assert server is not None
    try:
        assert get(f"http://127.0.0.1:{server.port}/health/live")[0] == 200
        status, body = get(f"http://127.0.0.1:{server.port}/health/ready")
    finally:
        server.stop()
    assert status == 503
    assert "broker unreachable" in body
