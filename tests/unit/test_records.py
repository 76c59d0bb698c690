import json
from datetime import UTC, datetime

import pytest

from hcp.codec import MAX_MESSAGE_BYTES, decode_record
from hcp.exceptions import RecordError
from hcp.records import AsicReading, AsicTelemetry, ControlCommand, PriceKind, PriceTick
from hcp.topics import MARKET_PRICES, RECORD_TOPICS, TELEMETRY_ASIC, TOPICS

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def asic_message(**reading_overrides):
    reading = {
        "device_id": "west-1-s21-0001",
        "model": "S21",
        "power_state": "normal",
        "hashrate_th": 200.0,
        "power_w": 3500.0,
        "temp_inlet_c": 25.0,
        "temp_chip_c": 70.0,
        "fan_rpm": 5000,
        "hashboards_ok": 3,
        "errors": 0,
    } | reading_overrides
    return AsicTelemetry(
        event_id="c1:1", event_time=T0, site_id="west-1", collector_id="c1", interval_s=60,
        readings=(AsicReading(**reading),),
    )


def test_valid_record_round_trips_through_the_codec():
    message = asic_message()
    assert decode_record(TELEMETRY_ASIC, message.to_json()) == message


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"{not json", "error"),
        (b"", "error"),
        (json.dumps({"event_id": "x"}).encode(), "event_time"),
    ],
)
def test_malformed_payload_raises_record_error_saying_where(payload, fragment):
    with pytest.raises(RecordError) as info:
        decode_record(TELEMETRY_ASIC, payload)
    assert info.value.topic == TELEMETRY_ASIC
    assert fragment in str(info.value)


def test_negative_power_is_rejected():
    raw = json.loads(asic_message().to_json())
    raw["readings"][0]["power_w"] = -5
    with pytest.raises(RecordError, match=r"readings\.0\.power_w"):
        decode_record(TELEMETRY_ASIC, json.dumps(raw).encode())


def test_nan_power_is_rejected():
    raw = asic_message().to_json().decode().replace('"power_w":3500.0', '"power_w":NaN')
    with pytest.raises(RecordError):
        decode_record(TELEMETRY_ASIC, raw.encode())


def test_unknown_schema_version_and_unknown_fields_are_rejected():
    raw = json.loads(asic_message().to_json())
    with pytest.raises(RecordError, match="schema_version"):
        decode_record(TELEMETRY_ASIC, json.dumps(raw | {"schema_version": 99}).encode())
    with pytest.raises(RecordError, match="surprise"):
        decode_record(TELEMETRY_ASIC, json.dumps(raw | {"surprise": 1}).encode())


def test_naive_timestamps_are_rejected():
    raw = json.loads(asic_message().to_json())
    raw["event_time"] = "2023-01-16T00:00:00"
    with pytest.raises(RecordError, match="event_time"):
        decode_record(TELEMETRY_ASIC, json.dumps(raw).encode())


def test_oversized_payload_is_rejected_before_parsing():
    with pytest.raises(RecordError, match="exceeds"):
        decode_record(TELEMETRY_ASIC, b" " * (MAX_MESSAGE_BYTES + 1))


def test_price_tick_needs_a_node_and_the_right_unit():
    base = {
        "event_id": "p1", "event_time": T0, "kind": PriceKind.ENERGY_RT, "interval_start": T0,
        "interval_end": T0.replace(minute=15), "value": 30.0, "unit": "USD/MWh",
    }
    assert PriceTick(**base, node="HB_WEST").key == "energy_rt:HB_WEST"
    with pytest.raises(ValueError, match="node"):
        PriceTick(**base)
    with pytest.raises(ValueError, match="unit"):
        PriceTick(**base | {"unit": "USD/BTC"}, node="HB_WEST")


def test_command_without_target_is_rejected():
    with pytest.raises(ValueError, match="asic_model or device_ids"):
        ControlCommand(
            event_id="c", event_time=T0, command_id="c", decision_id="d", site_id="west-1",
            kind="set_power_state", power_state="sleep",
        )


def test_every_record_topic_names_its_own_record_class():
    for name in RECORD_TOPICS:
        assert TOPICS[name].record.topic == name
    assert MARKET_PRICES in RECORD_TOPICS
