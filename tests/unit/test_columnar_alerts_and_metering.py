"""The alert rules, fleet metrics and billing meter on polls decoded as columns give what they give on the
records, to the last bit: random polls crowded around every limit, compared with the reading-by-reading rules."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from hcp.alerting import AlertSettings
from hcp.alerting.columns import asic_conditions_of_columns, gpu_conditions_of_columns
from hcp.alerting.rules import asic_conditions, gpu_conditions
from hcp.billing.metering import gpu_columns_frame, gpu_readings_frame, meter_gpu_seconds, metered_usage_records
from hcp.codec import decode_record
from hcp.economics import ASIC_MODELS, POWER_STATE_PROFILES, PowerState
from hcp.exceptions import RecordError
from hcp.fleet import load_fleet
from hcp.observability import PlatformMetrics
from hcp.observability.metrics import CollectorFigures
from hcp.telemetry_access import decode_telemetry_shared, readings_at
from hcp.telemetry_cache import ColumnsCache
from hcp.telemetry_columns import VerdictMemo, columns_from_record, decode_fast, decode_telemetry
from hcp.topics import TELEMETRY_ASIC, TELEMETRY_GPU

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)
S = AlertSettings()
DECODERS = {"fast path": decode_fast, "record class": lambda t, p: columns_from_record(decode_record(t, p))}


def near(rng: random.Random, limit: float, spread: float) -> float | int:
    """A value at, just around, or well away from a limit (sometimes a JSON integer where a float goes)."""
    return rng.choice([limit, limit + 1e-9, limit - 1e-9, limit + rng.uniform(-spread, spread), round(limit)])


def asic_reading(rng: random.Random, i: int) -> dict:
    model = rng.choice([*ASIC_MODELS, "unknown-model"])
    state = rng.choice(list(PowerState))
    nameplate = ASIC_MODELS.get(model, ASIC_MODELS["S21"])
    profile = POWER_STATE_PROFILES[state]
    expected_w, expected_th = nameplate.power_w * profile.power_factor, nameplate.hashrate_th * profile.hashrate_factor
    power = expected_w * rng.choice([1.0, 1.15, 0.85, 1.2, rng.uniform(0.7, 1.3)])
    return {
        "device_id": f"a-{i:04d}", "model": model, "power_state": state.value,
        "hashrate_th": min(max(expected_th * near(rng, S.asic_hashrate_min_ratio, 0.2), 0.0), 10_000.0),
        "power_w": min(power, 100_000.0), "temp_inlet_c": 20.0,
        "temp_chip_c": near(rng, rng.choice([S.asic_chip_temp_max_c, S.asic_chip_temp_max_c - S.temp_hysteresis_c]), 3),
        "fan_rpm": max(0, int(near(rng, S.asic_fan_min_rpm, 500))), "hashboards_ok": rng.randint(0, 4),
        "errors": rng.randint(0, 3),
    }


def gpu_reading(rng: random.Random, i: int) -> dict:
    busy = rng.random() < 0.7
    return {
        "device_id": f"g-{i:04d}", "gpu_type": rng.choice(["H100", "A100"]),
        "utilisation_pct": min(max(near(rng, S.gpu_stuck_util_max_pct, 5), 0.0), 100.0),
        "memory_used_gib": 10.0, "memory_total_gib": 80.0, "power_w": rng.uniform(50, 700),
        "temp_c": near(rng, rng.choice([S.gpu_temp_max_c, S.gpu_temp_max_c - S.temp_hysteresis_c]), 3),
        "ecc_errors": max(0, int(near(rng, S.gpu_ecc_errors_max, 2))),
        "job_id": f"job-{i}" if busy else None, "customer_id": rng.choice(["acme", "beta"]) if busy else None,
        "priority": rng.choice([None, 0, 5, 9]) if busy else None,
    }


def payload(rng: random.Random, readings: list[dict], poll: int, offset: str = "Z") -> bytes:
    return json.dumps({
        "event_id": f"e{poll}", "event_time": (T0 + timedelta(minutes=poll)).isoformat().replace("+00:00", offset),
        "site_id": "west-1", "collector_id": "c1", "interval_s": rng.choice([60, 30.0]), "readings": readings,
    }).encode()


def random_is_open(rng: random.Random):
    open_keys: dict[str, bool] = {}
    return lambda key: open_keys.setdefault(key, rng.random() < 0.5)


def typed(conditions) -> list[tuple]:
    return [(c, type(c.value), type(c.threshold)) for c in conditions]


@pytest.mark.parametrize("decoder", DECODERS)
def test_asic_rules_on_columns_find_the_same_conditions_in_the_same_order(decoder):
    for seed in range(40):
        rng = random.Random(seed)
        message = payload(rng, [asic_reading(rng, i) for i in range(rng.randint(1, 60))], seed)
        record, columns = decode_record(TELEMETRY_ASIC, message), DECODERS[decoder](TELEMETRY_ASIC, message)
        assert columns is not None
        expected = asic_conditions("west-1", record.readings, S, random_is_open(random.Random(seed)))
        found = asic_conditions_of_columns(columns, S, random_is_open(random.Random(seed)))
        assert typed(found) == typed(expected)
        assert expected or seed % 10, "the generator should put readings at fault"


@pytest.mark.parametrize("decoder", DECODERS)
def test_gpu_rules_on_columns_find_the_same_conditions_and_stuck_counts_over_several_polls(decoder):
    settings = AlertSettings(gpu_stuck_polls=2)
    for seed in range(15):
        rng = random.Random(seed)
        devices = rng.randint(1, 40)
        by_records: dict[str, int] = {}
        by_columns: dict[str, int] = {}
        for poll in range(4):
            readings = [gpu_reading(rng, rng.randrange(devices) if seed % 5 == 0 else i) for i in range(devices)]
            message = payload(rng, readings, poll)
            record, columns = decode_record(TELEMETRY_GPU, message), DECODERS[decoder](TELEMETRY_GPU, message)
            opened = random.Random(seed * 10 + poll)
            expected = gpu_conditions("west-1", record.readings, by_records, settings, random_is_open(opened))
            opened = random.Random(seed * 10 + poll)
            found = gpu_conditions_of_columns(columns, by_columns, settings, random_is_open(opened))
            assert typed(found) == typed(expected)
            assert by_columns == by_records


def test_readings_at_rebuilds_the_record_class_readings():
    rng = random.Random(1)
    for topic, make in ((TELEMETRY_ASIC, asic_reading), (TELEMETRY_GPU, gpu_reading)):
        message = payload(rng, [make(rng, i) for i in range(30)], 0)
        record = decode_record(topic, message)
        for decoder in DECODERS.values():
            rebuilt = readings_at(decoder(topic, message), range(30))
            assert [r.model_dump() for r in rebuilt] == [r.model_dump() for r in record.readings]
            assert [type(v) for r in rebuilt for v in r.model_dump().values()] == \
                [type(v) for r in record.readings for v in r.model_dump().values()]


def reference_figures(poll) -> CollectorFigures:
    """The metrics' per-collector sums as they were written over the records, reading by reading."""
    kind = "asic" if poll.topic == TELEMETRY_ASIC else "gpu"
    figures = CollectorFigures(poll.site_id, kind, offline=1)
    for r in poll.readings:
        figures.power_w += r.power_w
        figures.online += 1
        temp = r.temp_chip_c if kind == "asic" else r.temp_c
        figures.temp_max_c = max(figures.temp_max_c, temp)
        figures.temp_sum_c += temp
        if kind == "asic":
            figures.hashrate_th += r.hashrate_th
            figures.curtailed += r.power_state is PowerState.SLEEP
        else:
            figures.busy += r.job_id is not None
            figures.utilisation_sum += r.utilisation_pct / 100.0
    return figures


@pytest.mark.parametrize("decoder", DECODERS)
def test_fleet_metrics_from_columns_sum_to_the_same_bits_as_over_the_records(decoder):
    metrics = PlatformMetrics(load_fleet())
    for seed in range(10):
        rng = random.Random(seed)
        for topic, make in ((TELEMETRY_ASIC, asic_reading), (TELEMETRY_GPU, gpu_reading)):
            message = payload(rng, [make(rng, i) for i in range(rng.randint(1, 200))], seed)
            columns = DECODERS[decoder](topic, message)
            observe = metrics.observe_asic_columns if topic == TELEMETRY_ASIC else metrics.observe_gpu_columns
            observe(columns, 1)
            assert metrics.collectors["c1"] == reference_figures(decode_record(topic, message))


@pytest.mark.parametrize("decoder", DECODERS)
def test_the_meter_on_columns_bills_what_it_bills_on_the_records(decoder):
    rng = random.Random(7)
    messages = [
        payload(rng, [gpu_reading(rng, i) for i in range(rng.randint(1, 50))], poll, rng.choice(["Z", "+02:00"]))
        for poll in range(12)
    ]
    records = [decode_record(TELEMETRY_GPU, m) for m in messages]
    columns = [DECODERS[decoder](TELEMETRY_GPU, m) for m in messages]
    assert gpu_columns_frame(columns).equals(gpu_readings_frame(records))
    polls = [(c, 0, offset) for offset, c in enumerate(columns + columns[:3])]  # three polls redelivered
    usage = metered_usage_records(polls)
    assert usage == metered_usage_records([(r, 0, offset) for offset, r in enumerate(records + records[:3])])
    billed = sum(line.gpu_seconds for u in usage for line in u.lines)
    assert billed == meter_gpu_seconds(gpu_readings_frame(records))["gpu_seconds"].sum() > 0


def test_a_shared_decode_reuses_another_agents_rejection_and_notes_its_own_verdicts():
    memo = VerdictMemo()
    bad = b'{"not": "a poll"}'
    memo.remember(TELEMETRY_GPU, 0, 5, bad, RecordError(TELEMETRY_GPU, "rejected by the fleet agent"))
    with pytest.raises(RecordError, match="rejected by the fleet agent"):
        decode_telemetry_shared(TELEMETRY_GPU, bad, (0, 5), memo)
    with pytest.raises(RecordError):
        decode_telemetry_shared(TELEMETRY_GPU, bad, (0, 6), memo)
    assert isinstance(memo.recall(TELEMETRY_GPU, 0, 6, bad), RecordError)
    good = payload(random.Random(2), [gpu_reading(random.Random(2), 0)], 3)
    columns = decode_telemetry_shared(TELEMETRY_GPU, good, (0, 7), memo)
    assert memo.recall(TELEMETRY_GPU, 0, 7, good) == (columns.event_id, columns.event_time)


def test_a_poll_decoded_by_one_agent_is_not_decoded_again_by_the_next_and_the_cache_stays_bounded():
    cache = ColumnsCache(capacity_readings=25)
    rng = random.Random(4)
    first, second = (payload(rng, [gpu_reading(rng, i) for i in range(10)], poll) for poll in range(2))
    columns = decode_telemetry(TELEMETRY_GPU, first, cache)
    assert decode_telemetry(TELEMETRY_GPU, bytes(bytearray(first)), cache) is columns  # equal bytes, other object
    assert decode_telemetry(TELEMETRY_GPU, second, cache) is not columns
    assert (cache.hits, len(cache)) == (1, 2)
    decode_telemetry(TELEMETRY_GPU, payload(rng, [gpu_reading(rng, i) for i in range(10)], 2), cache)
    assert len(cache) == 2 and cache.recall(TELEMETRY_GPU, first) is None  # 30 readings > 25: the oldest went
    with pytest.raises(RecordError):
        decode_telemetry(TELEMETRY_GPU, b"{}", cache)
    assert len(cache) == 2
