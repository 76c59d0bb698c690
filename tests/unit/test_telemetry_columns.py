"""The columnar telemetry decoder accepts and rejects exactly what the record classes do, with the same reasons."""

import json
import random
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from hcp.codec import decode_record
from hcp.exceptions import RecordError
from hcp.fleet import load_fleet
from hcp.telemetry_columns import (
    VerdictMemo,
    VerdictWait,
    columns_from_record,
    decode_event_header,
    decode_fast,
    decode_telemetry,
)
from hcp.topics import TELEMETRY_ASIC, TELEMETRY_GPU
from simulators.asic import AsicFleetSimulator
from simulators.gpu import GpuFleetSimulator

T0 = datetime(2023, 1, 16, 12, tzinfo=UTC)


def polls(topic):
    fleet, rng = load_fleet(), np.random.default_rng(3)
    if topic == TELEMETRY_ASIC:
        return [m.to_json() for m in AsicFleetSimulator(fleet, 60.0, 30.0, rng).poll(T0)]
    return [m.to_json() for m in GpuFleetSimulator(fleet, 60.0, rng).poll(T0)]


def outcome(decode, topic, payload):
    """('ok', columns as plain data) or ('rejected', reason)."""
    try:
        columns = decode(topic, payload)
    except RecordError as err:
        return "rejected", str(err)
    numbers = {name: np.nan_to_num(values, nan=-1.0).tolist() for name, values in columns.numbers.items()}
    plain = {
        name: getattr(columns, name)
        for name in ("topic", "event_id", "event_time", "site_id", "collector_id", "interval_s", "device_ids")
    }
    return "ok", plain | {"models": columns.models, "numbers": numbers, "texts": columns.texts}


def by_record_class(topic, payload):
    return columns_from_record(decode_record(topic, payload))


def assert_same(topic, payload):
    expected = outcome(by_record_class, topic, payload)
    assert outcome(decode_telemetry, topic, payload) == expected
    if decode_fast(topic, payload) is not None:
        assert expected[0] == "ok", "the fast path accepted what the record class rejects"
    return expected[0]


@pytest.mark.parametrize("topic", [TELEMETRY_ASIC, TELEMETRY_GPU])
def test_simulated_polls_take_the_fast_path_with_the_record_class_values(topic):
    for payload in polls(topic):
        assert decode_fast(topic, payload) is not None
        assert assert_same(topic, payload) == "ok"


def mutate(payload: bytes, path: tuple, value=None, *, delete=False) -> bytes:
    data = json.loads(payload)
    target = data
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(data).encode()


ASIC_CASES = [
    (("readings", 0, "power_w"), -1.0),
    (("readings", 0, "power_w"), 100_000.5),
    (("readings", 0, "power_w"), "3500"),
    (("readings", 0, "power_w"), True),
    (("readings", 0, "power_w"), None),
    (("readings", 0, "power_w"), 3500),
    (("readings", 0, "fan_rpm"), 5000.0),
    (("readings", 0, "fan_rpm"), 5000.5),
    (("readings", 0, "fan_rpm"), 2**70),
    (("readings", 0, "hashboards_ok"), 5),
    (("readings", 0, "errors"), -1),
    (("readings", 0, "power_state"), "turbo"),
    (("readings", 0, "power_state"), 2),
    (("readings", 0, "device_id"), ""),
    (("readings", 0, "device_id"), "d" * 65),
    (("readings", 0, "device_id"), "é" * 64),
    (("readings", 0, "model"), 21),
    (("readings", 0, "extra"), 1),
    (("readings", 0), "not a reading"),
    (("readings",), []),
    (("readings",), {"a": 1}),
    (("event_time",), "2023-01-16T12:00:00"),
    (("event_time",), "2023-01-16 12:00:00Z"),
    (("event_time",), "2023-01-16T12:00:00.5+02:00"),
    (("event_time",), "2023-01-16T12:00:00.123456789Z"),
    (("event_time",), "2023-02-30T12:00:00Z"),
    (("event_time",), 1673870400),
    (("event_id",), ""),
    (("event_id",), "e" * 129),
    (("site_id",), "s" * 41),
    (("interval_s",), 0),
    (("interval_s",), 3600),
    (("interval_s",), "60"),
    (("schema_version",), 2),
    (("schema_version",), 1.0),
    (("unexpected",), "field"),
]


@pytest.mark.parametrize(("path", "value"), ASIC_CASES)
def test_asic_edge_cases_get_the_record_class_verdict_and_reason(path, value):
    assert_same(TELEMETRY_ASIC, mutate(polls(TELEMETRY_ASIC)[0], path, value))


@pytest.mark.parametrize("path", [("readings", 0, "errors"), ("site_id",), ("event_time",), ("schema_version",)])
def test_missing_fields_get_the_record_class_verdict(path):
    assert_same(TELEMETRY_ASIC, mutate(polls(TELEMETRY_ASIC)[0], path, delete=True))


@pytest.mark.parametrize(
    ("path", "value", "delete"),
    [
        (("readings", 0, "job_id"), None, True),
        (("readings", 0, "priority"), 10, False),
        (("readings", 0, "priority"), None, False),
        (("readings", 0, "customer_id"), "c" * 41, False),
        (("readings", 0, "memory_total_gib"), 0, False),
        (("readings", 0, "utilisation_pct"), 100.01, False),
    ],
)
def test_gpu_edge_cases_get_the_record_class_verdict(path, value, delete):
    assert_same(TELEMETRY_GPU, mutate(polls(TELEMETRY_GPU)[0], path, value, delete=delete))


@pytest.mark.parametrize("payload", [None, b"", b"{broken", b"[]", b"null", b'{"readings": NaN}', b"\xff\xfe"])
def test_unparseable_messages_are_rejected_with_the_record_class_reason(payload):
    assert assert_same(TELEMETRY_ASIC, payload) == "rejected"


def test_random_mutations_agree_with_the_record_class():
    rng = random.Random(11)
    values = [None, True, 0, -1, 1.5, 1e9, "", "x", "normal", "H100", [], {}, 2**40, -0.0, "2023-01-16T12:00:00Z"]
    verdicts = set()
    for topic in (TELEMETRY_ASIC, TELEMETRY_GPU):
        base = polls(topic)[0]
        data = json.loads(base)
        reading_fields, envelope_fields = list(data["readings"][0]), [k for k in data if k != "readings"]
        for _ in range(150):
            if rng.random() < 0.7:
                path = ("readings", rng.randrange(len(data["readings"])), rng.choice(reading_fields))
            else:
                path = (rng.choice(envelope_fields),)
            verdicts.add(assert_same(topic, mutate(base, path, rng.choice(values))))
    assert verdicts == {"ok", "rejected"}


def test_event_header_of_a_non_telemetry_topic_comes_from_its_record_class():
    with pytest.raises(RecordError, match=r"market\.prices"):
        decode_event_header("market.prices", b"{}")
    event_id, event_time = decode_event_header(TELEMETRY_ASIC, polls(TELEMETRY_ASIC)[0])
    assert event_time == T0 and event_id.endswith(str(int(T0.timestamp())))


def test_a_remembered_verdict_is_reused_only_for_the_same_message():
    memo = VerdictMemo()
    good, bad = polls(TELEMETRY_ASIC)[0], mutate(polls(TELEMETRY_ASIC)[0], ("readings", 0, "power_w"), -1.0)
    memo.remember(TELEMETRY_ASIC, 0, 5, good, ("remembered", T0))
    assert decode_event_header(TELEMETRY_ASIC, good, (0, 5), memo) == ("remembered", T0)
    with pytest.raises(RecordError, match="greater than or equal to 0"):
        decode_event_header(TELEMETRY_ASIC, bad, (0, 5), memo)  # same offset, other payload: decoded afresh
    assert (memo.hits, memo.misses) == (1, 1)
    memo.remember(TELEMETRY_ASIC, 0, 6, bad, RecordError(TELEMETRY_ASIC, "remembered rejection"))
    with pytest.raises(RecordError, match="remembered rejection"):
        decode_event_header(TELEMETRY_ASIC, bad, (0, 6), memo)


def test_the_memo_forgets_the_oldest_verdicts_beyond_its_capacity():
    memo = VerdictMemo(capacity=2)
    for offset in range(3):
        memo.remember(TELEMETRY_ASIC, 0, offset, b"x", ("e", T0))
    assert memo.recall(TELEMETRY_ASIC, 0, 0, b"x") is None
    assert memo.recall(TELEMETRY_ASIC, 0, 2, b"x") == ("e", T0)


def note_in_order(memo, offsets, payload, gap_s):
    """Another agent of the worker working through a backlog: a verdict every `gap_s`, in message order."""

    def work():
        for offset in offsets:
            time.sleep(gap_s)
            memo.remember(TELEMETRY_ASIC, 0, offset, payload, (f"from-fleet-{offset}", T0))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_a_waiting_reader_follows_the_other_agent_through_its_backlog():
    # The landing agent asks for the verdict of the 30th message while the fleet agent is still at the first:
    # the fleet agent notes one every 20 ms (0.6 s in all, longer than the stall limit), so the reader waits.
    memo, payload = VerdictMemo(), polls(TELEMETRY_ASIC)[0]
    writer = note_in_order(memo, range(30), payload, 0.02)
    wait = VerdictWait(stall_s=0.3, max_s=30.0)
    assert decode_event_header(TELEMETRY_ASIC, payload, (0, 29), memo, wait) == ("from-fleet-29", T0)
    writer.join()
    assert (memo.hits, memo.misses) == (1, 0)


def test_a_reader_stops_waiting_when_nobody_notes_verdicts_and_decodes_itself():
    memo, payload = VerdictMemo(), polls(TELEMETRY_ASIC)[0]
    memo.remember(TELEMETRY_ASIC, 0, 1, payload, ("other", T0))
    event_id, _ = decode_event_header(TELEMETRY_ASIC, payload, (0, 2), memo, VerdictWait(stall_s=0.05, max_s=30.0))
    assert event_id != "other" and not event_id.startswith("from-fleet")  # decoded from the payload
    assert (memo.hits, memo.misses) == (0, 1)


def test_a_reader_waits_no_longer_than_its_limit_even_while_other_verdicts_come():
    # The awaited message is one the other agent will never note (e.g. its partition moved away): the wait ends
    # at `max_s` although verdicts for other messages keep coming.
    memo, payload = VerdictMemo(), polls(TELEMETRY_ASIC)[0]
    writer = note_in_order(memo, range(100, 400), payload, 0.01)
    verdict = memo.recall(TELEMETRY_ASIC, 0, 7, payload, VerdictWait(stall_s=0.5, max_s=0.3))
    assert verdict is None and writer.is_alive()
    writer.join()
