"""The ledger checked against a real warehouse loaded from landing files on a temp folder."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from hcp.fleet import load_fleet
from hcp.landing import LandedMessage, LandingWriter
from hcp.ledger import LedgerWriter, read_ledger
from hcp.reconciliation import ReconciliationError, check_ledger_warehouse
from hcp.topics import DECISIONS
from warehouse.loader import load_landing

pytestmark = pytest.mark.component

T0 = datetime(2023, 1, 16, tzinfo=UTC)


def scenario(tmp_path, landed_ids, staged_ids):
    values = {f"e{i}": f'{{"event_id":"e{i}"}}'.encode() for i in range(4)}
    with LedgerWriter(tmp_path / "ledger", "run") as ledger:
        for event_id, value in values.items():
            ledger.record(event_id, DECISIONS, "west-1", value)
    LandingWriter(tmp_path / "landing").write(DECISIONS, 0, [
        # "e2!" lands e2 with other bytes than it was produced with
        LandedMessage(DECISIONS, 0, offset, "west-1", None, event_id.rstrip("!"),
                      T0, b"{}" if event_id.endswith("!") else values[event_id])
        for offset, event_id in enumerate(landed_ids)
    ])
    warehouse = tmp_path / "warehouse.duckdb"
    load_landing(tmp_path / "landing", warehouse, load_fleet())
    with duckdb.connect(str(warehouse)) as con:  # stands in for dbt's deduplicated staging view
        con.execute("create schema if not exists staging")
        ids = ", ".join(f"('{i}')" for i in staged_ids) or "(null)"
        con.execute(f"create view staging.stg_kafka__decisions as select * from (values {ids}) as t(event_id)"
                    " where event_id is not null")
    return read_ledger(ledger.path), warehouse


def test_a_complete_warehouse_passes(tmp_path):
    ids = ["e0", "e1", "e2", "e3"]
    ledger, warehouse = scenario(tmp_path, ids, ids)
    report = check_ledger_warehouse(ledger, warehouse)
    assert report.ok
    assert report.raw.by_topic[DECISIONS]["landed"] == 4


def test_an_event_delivered_twice_is_duplicated_in_raw_but_once_in_staging(tmp_path):
    ledger, warehouse = scenario(tmp_path, ["e0", "e1", "e1", "e2", "e3"], ["e0", "e1", "e2", "e3"])
    report = check_ledger_warehouse(ledger, warehouse)
    assert (report.raw.duplicated, report.raw.duplicated_event_ids) == (1, ("e1",))
    assert report.staged.ok


def test_missing_and_altered_events_in_the_warehouse_are_reported(tmp_path):
    ledger, warehouse = scenario(tmp_path, ["e0", "e1", "e2!"], ["e0", "e1"])
    report = check_ledger_warehouse(ledger, warehouse)
    assert report.raw.lost_event_ids == ("e3",)
    assert report.raw.altered == 1
    assert sorted(report.staged.lost_event_ids) == ["e2", "e3"]
    assert not report.ok


def test_a_missing_warehouse_says_what_to_run(tmp_path):
    ledger, _ = scenario(tmp_path, ["e0"], ["e0"])
    with pytest.raises(ReconciliationError, match="hcp flows run warehouse"):
        check_ledger_warehouse(ledger, tmp_path / "nowhere.duckdb")
