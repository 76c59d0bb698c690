"""`hcp status`'s board: the latest state per thing from the topics' records, drawn as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from hcp.fleet import load_fleet
from hcp.records import (
    Alert,
    AlertStatus,
    AsicTelemetry,
    Decision,
    DecisionKind,
    DeviceChange,
    PriceKind,
    PriceTick,
    Severity,
    WorkloadRequest,
)
from hcp.status import StatusBoard, render_board

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def asic_poll(collector: str, states: list[str]) -> AsicTelemetry:
    readings = [{"device_id": f"{collector}-{i}", "model": "S21", "power_state": s, "hashrate_th": 200.0,
                 "power_w": 3500.0 if s != "sleep" else 35.0, "temp_inlet_c": 20.0, "temp_chip_c": 75.0,
                 "fan_rpm": 5000, "hashboards_ok": 3, "errors": 0} for i, s in enumerate(states)]
    return AsicTelemetry(event_id=collector, event_time=T0, site_id="west-1", collector_id=collector, interval_s=60,
                         readings=readings)


def tick(kind: PriceKind, value: float, node: str | None = None) -> PriceTick:
    unit = {PriceKind.ENERGY_RT: "USD/MWh", PriceKind.HASHPRICE: "USD/PH/day"}[kind]
    return PriceTick(event_id=f"{kind}{node}", event_time=T0, kind=kind, node=node, interval_start=T0,
                     interval_end=T0 + timedelta(minutes=15), value=value, unit=unit)


def decision(kind: DecisionKind, job: str) -> Decision:
    return Decision(event_id=f"{kind}{job}", event_time=T0, decision_id=job, site_id="west-1", kind=kind,
                    subject=job, interval_start=T0, action=kind.value, reason=f"{kind.value} {job}")


def board_with_everything() -> StatusBoard:
    board = StatusBoard(load_fleet())
    records = [
        asic_poll("c1", ["normal", "normal", "sleep"]),
        asic_poll("c1", ["normal", "sleep", "sleep"]),  # the latest poll of a collector replaces the previous
        tick(PriceKind.ENERGY_RT, 250.0, "HB_WEST"),
        tick(PriceKind.HASHPRICE, 50.0),
        WorkloadRequest(event_id="r1", event_time=T0, job_id="j1", customer_id="acme-ai", gpu_type="H100",
                        gpu_count=1, priority=7, preemptible=False, expected_duration_s=60),
        decision(DecisionKind.QUEUED, "j1"),
        decision(DecisionKind.QUEUED, "j2"),
        decision(DecisionKind.PLACEMENT, "j2"),
        DeviceChange(event_id="dc", event_time=T0, device_id="x", site_id="west-1", device_kind="asic", model="S21",
                     status="offline", first_seen=False, last_seen=T0, reason="silent"),
        Alert(event_id="a1", event_time=T0, alert_id="a1", rule="asic_overheat", severity=Severity.CRITICAL,
              status=AlertStatus.FIRING, site_id="west-1", message="west-1-s21-0001 chip at 105 °C"),
        Alert(event_id="a2", event_time=T0, alert_id="a2", rule="price_spike", severity=Severity.CRITICAL,
              status=AlertStatus.FIRING, message="spike"),
        Alert(event_id="a2r", event_time=T0, alert_id="a2", rule="price_spike", severity=Severity.CRITICAL,
              status=AlertStatus.RESOLVED, message="resolved: spike"),
    ]
    for record in records:
        board.apply(record)
    return board


def test_board_keeps_the_latest_state_of_each_thing() -> None:
    board = board_with_everything()
    west = next(r for r in board.site_rows() if r["site"] == "west-1")
    assert (west["asic_online"], west["asic_curtailed"], west["offline"]) == (3, 2, 1)
    assert west["power_mw"] == 3570.0 / 1e6 and west["price"] == 250.0
    assert board.queue_by_priority() == {7: 1}
    assert list(board.alerts) == ["a1"]
    assert round(board.breakevens()["S21"], 2) == round(50.0 * 1000 / (24 * 17.5), 2)


def test_one_frame_shows_sites_prices_queue_decisions_and_alerts() -> None:
    console = Console(width=160, record=True)
    console.print(render_board(board_with_everything(), "test"))
    text = console.export_text()
    for expected in ("west-1", "0.004 / 2.05", "HB_WEST", "curtail", "job queue: 1 waiting", "placement",
                     "active alerts: 1", "asic_overheat"):
        assert expected in text, expected
