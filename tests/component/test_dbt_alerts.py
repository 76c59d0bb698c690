"""`fct_alert_incidents` on a temp DuckDB: one row per incident, open or resolved, from landed alert transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hcp.fleet import load_fleet
from hcp.landing import LandingWriter
from hcp.records import Alert, AlertStatus, Severity
from hcp.settings import WarehouseSettings
from hcp.topics import ALERTS
from warehouse.connection import open_readonly
from warehouse.loader import load_landing
from warehouse.transform import build_models

from .conftest import land_records

pytestmark = pytest.mark.component

T0 = datetime(2023, 1, 16, 10, tzinfo=UTC)


def transition(alert_id: str, status: AlertStatus, minutes: int) -> Alert:
    return Alert(event_id=f"{alert_id}:{status}", event_time=T0 + timedelta(minutes=minutes), alert_id=alert_id,
                 rule="asic_overheat", severity=Severity.CRITICAL, status=status, site_id="west-1",
                 device_id="west-1-s21-0001", message="chip at 105 °C", value=105.0, threshold=95.0)


def test_alert_incidents_pair_firing_and_resolved_transitions(tmp_path) -> None:
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    records = [
        transition("a@1", AlertStatus.FIRING, 0),
        transition("a@1", AlertStatus.FIRING, 0),  # redelivered: one incident still
        transition("b@2", AlertStatus.FIRING, 5),
        transition("a@1", AlertStatus.RESOLVED, 20),
    ]
    land_records(LandingWriter(landing), ALERTS, 0, records)
    load_landing(landing, warehouse, load_fleet())
    build_models(WarehouseSettings().dbt_project_dir, warehouse, select=("+fct_alert_incidents",))
    conn = open_readonly(warehouse)
    try:
        rows = conn.execute(
            "select alert_id, is_open, duration_s, fired_value from fct_alert_incidents order by alert_id"
        ).fetchall()
    finally:
        conn.close()
    assert rows == [("a@1", False, 1200, 105.0), ("b@2", True, None, 105.0)]
