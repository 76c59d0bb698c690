from datetime import UTC, datetime

from hcp.landing import LandedMessage, LandingWriter
from hcp.ledger import LedgerWriter, check_ledger, read_ledger

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def produce(tmp_path, n):
    values = {f"e{i}": f'{{"i":{i}}}'.encode() for i in range(n)}
    with LedgerWriter(tmp_path / "ledger", "run") as ledger:
        for event_id, value in values.items():
            ledger.record(event_id, "decisions", "k", value)
    return values, read_ledger(ledger.path)


def land(tmp_path, rows, partition=0, first_offset=0):
    LandingWriter(tmp_path / "landing").write(
        "decisions",
        partition,
        [
            LandedMessage("decisions", partition, first_offset + i, "k", None, event_id, T0, value)
            for i, (event_id, value) in enumerate(rows)
        ],
    )


def test_complete_landing_passes(tmp_path):
    values, ledger = produce(tmp_path, 5)
    land(tmp_path, list(values.items()))
    report = check_ledger(ledger, tmp_path / "landing")
    assert report.ok
    assert report.by_topic["decisions"]["landed"] == 5


def test_missing_event_is_reported_lost(tmp_path):
    values, ledger = produce(tmp_path, 5)
    land(tmp_path, [kv for kv in values.items() if kv[0] != "e3"])
    report = check_ledger(ledger, tmp_path / "landing")
    assert (report.lost, report.duplicated, report.lost_event_ids) == (1, 0, ("e3",))


def test_event_landed_twice_is_reported_duplicated(tmp_path):
    values, ledger = produce(tmp_path, 3)
    land(tmp_path, list(values.items()))
    land(tmp_path, [("e1", values["e1"])], partition=1)
    report = check_ledger(ledger, tmp_path / "landing")
    assert (report.lost, report.duplicated, report.duplicated_event_ids) == (0, 1, ("e1",))


def test_changed_bytes_are_reported_altered(tmp_path):
    values, ledger = produce(tmp_path, 3)
    land(tmp_path, [(k, v if k != "e2" else b'{"i":999}') for k, v in values.items()])
    report = check_ledger(ledger, tmp_path / "landing")
    assert report.altered == 1 and not report.ok
