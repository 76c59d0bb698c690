"""The data-quality gate (great-expectations) over landed batches, and the flow that stops billing on failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.billing import bill_customers
from flows.quality import check_landed_batches
from hcp.fleet import load_fleet
from hcp.landing import LandingWriter, landing_file_path
from hcp.quality import QualityGateError, run_gate
from hcp.topics import TELEMETRY_ASIC, TELEMETRY_GPU
from warehouse.connection import open_readonly
from warehouse.loader import load_landing

from .conftest import LandingScenario, land_records

pytestmark = pytest.mark.component


@pytest.fixture
def home(tmp_path: Path, landing_scenario: LandingScenario) -> Path:
    """A storage home whose landed scenario is loaded into the warehouse (so the manifest exists)."""
    landing_scenario.write(tmp_path / "landing")
    load_landing(tmp_path / "landing", tmp_path / "warehouse.duckdb", load_fleet())
    return tmp_path


def invoice_rows(warehouse: Path) -> int:
    """Invoices stored in the warehouse (0 when billing never created its table)."""
    conn = open_readonly(warehouse)
    try:
        [(tables,)] = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'billing' and table_name = 'invoices'"
        ).fetchall()
        return conn.execute("select count(*) from billing.invoices").fetchone()[0] if tables else 0
    finally:
        conn.close()


def inject_bad_batch(home: Path, scenario: LandingScenario) -> dict[str, str]:
    """Land a batch with a duplicated event id, a negative power reading and a file lacking `event_id`."""
    good = scenario.asic_polls[1]
    negative = good.readings[0].model_copy(update={"power_w": -5.0})
    # model_copy skips validation: these records could never pass the landing agent's checks
    bad_power = good.model_copy(update={"event_id": "asic:bad-power", "readings": (negative, *good.readings[1:])})
    duplicate = scenario.asic_polls[2].model_copy(update={"event_id": good.event_id})
    writer = LandingWriter(home / "landing")
    land_records(writer, TELEMETRY_ASIC, 0, (bad_power, duplicate), first_offset=100)
    no_event_id = pa.table({"topic": [TELEMETRY_GPU], "partition": pa.array([0], pa.int32()), "offset": [50]})
    path = landing_file_path(home / "landing", TELEMETRY_GPU, 0, 50, 50)
    pq.write_table(no_event_id, path)
    return {"duplicate_event_id": good.event_id, "device": negative.device_id, "file": path.name}


def test_gate_passes_clean_batches_and_writes_data_docs(home: Path):
    report = run_gate(home / "landing", home / "warehouse.duckdb", home / "quality")

    assert report.passed, report.describe()
    assert report.files == 6 and report.pending_files == 0
    assert report.checks > 20
    assert Path(report.data_docs).is_file()
    assert (home / "quality" / "reports" / "latest.json").is_file()


def test_bad_batch_stops_billing_and_the_report_names_each_failure(prefect_test_server, home, landing_scenario):
    bad = inject_bad_batch(home, landing_scenario)

    with pytest.raises(QualityGateError) as failed:
        bill_customers("2023-01", warehouse_path=str(home / "warehouse.duckdb"), billing_dir=str(home / "billing"))

    assert not (home / "billing").exists(), "billing started before the gate passed"
    assert invoice_rows(home / "warehouse.duckdb") == 0
    failures = {(f.check, f.dataset, f.expectation): f for f in failed.value.report.failures}
    message = str(failed.value)
    duplicate = failures[("uniqueness", "messages", "an event id names one message of its topic "
                          "(identical retries count once)")]
    assert any(bad["duplicate_event_id"] in example for example in duplicate.examples)
    power = failures[("range", f"readings.{TELEMETRY_ASIC}", "every reading has power_w >= 0")]
    assert any("min_power_w=-5.0" in e and bad["device"] in e for e in power.examples)
    schema = failures[("schema", "files", "every landing file has every landing column")]
    assert any(bad["file"] in e and "event_id" in e for e in schema.examples)
    for needle in (bad["duplicate_event_id"], "power_w >= 0", "every landing column"):
        assert needle in message


def test_file_rewritten_after_loading_fails_the_manifest_check(home: Path):
    [path] = (home / "landing" / TELEMETRY_ASIC / "partition=0").glob("*.parquet")
    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows - 1), path)

    report = run_gate(home / "landing", home / "warehouse.duckdb", home / "quality")

    [failure] = [f for f in report.failures if f.check == "manifest"]
    assert "registered" in failure.expectation
    assert any(path.name in example for example in failure.examples)


def test_landing_that_stopped_a_day_ago_fails_freshness(home: Path):
    later = datetime.now(UTC) + timedelta(days=2)

    report = run_gate(home / "landing", home / "warehouse.duckdb", home / "quality", now=later)

    stale = [f for f in report.failures if f.check == "freshness"]
    assert stale and any(TELEMETRY_ASIC in example for example in stale[0].examples)


def test_gate_flow_returns_a_summary_when_every_batch_passes(prefect_test_server, home: Path):
    summary = check_landed_batches(str(home / "landing"), str(home / "warehouse.duckdb"))

    assert summary["passed"] and summary["files"] == 6
    assert Path(summary["data_docs"]).is_file()
