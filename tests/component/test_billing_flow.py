"""The billing flow on a small landed scenario: invoices for every customer, totals equal to the priced usage,
a reconciliation of zero, nothing changed by a second run, late data billed on the next invoice."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.billing import bill_customers
from hcp.billing.metering import metered_usage_records
from hcp.billing.ratecards import load_rate_cards
from hcp.billing.render import print_pdf
from hcp.billing.settings import BillingSettings
from hcp.fleet import load_fleet
from hcp.landing import LandingWriter
from hcp.records import Decision, DecisionKind, GpuReading, GpuTelemetry, WorkloadRequest
from hcp.settings import WarehouseSettings
from hcp.topics import BILLING_USAGE, DECISIONS, TELEMETRY_GPU, WORKLOAD_REQUESTS
from warehouse.connection import open_readonly
from warehouse.loader import load_landing
from warehouse.transform import build_models

from .conftest import DAY, land_records

pytestmark = pytest.mark.component

PROJECT_DIR = WarehouseSettings().dbt_project_dir
USAGE_MARTS = ("+fct_gpu_usage_hourly", "+fct_metered_usage_hourly", "+fct_credit_events")
JOBS = {"j-1": ("acme-ai", "H100", 5), "j-2": ("blue-labs", "H100", 1), "j-3": ("delta-vision", "A100", 8)}
# Wall clock of the runs: January 2023 is over, so its invoices close.
NOW = datetime(2023, 3, 5, tzinfo=UTC)


def gpu(device_id: str, gpu_type: str, job: str | None) -> GpuReading:
    customer, _, priority = JOBS[job] if job else (None, None, None)
    return GpuReading(
        device_id=device_id,
        gpu_type=gpu_type,
        utilisation_pct=90.0 if job else 1.0,
        memory_used_gib=40.0,
        memory_total_gib=80.0,
        power_w=600.0,
        temp_c=65.0,
        ecc_errors=0,
        job_id=job,
        customer_id=customer,
        priority=priority,
    )


def gpu_poll(site_id: str, at: datetime, readings: list[GpuReading]) -> GpuTelemetry:
    return GpuTelemetry(
        event_id=f"gpu:{site_id}:{at.isoformat()}",
        event_time=at,
        site_id=site_id,
        collector_id=f"{site_id}-g0",
        interval_s=60.0,
        readings=tuple(readings),
    )


def polls(start: datetime, minutes: int) -> list[GpuTelemetry]:
    west_1 = [gpu("w1-h100-1", "H100", "j-1"), gpu("w1-h100-2", "H100", "j-2"), gpu("w1-h100-3", "H100", None)]
    west_2 = [gpu("w2-a100-1", "A100", "j-3")]
    return [
        poll
        for minute in range(minutes)
        for poll in (
            gpu_poll("west-1", start + timedelta(minutes=minute), west_1),
            gpu_poll("west-2", start + timedelta(minutes=minute), west_2),
        )
    ]


def land_polls(writer: LandingWriter, telemetry: list[GpuTelemetry], first_offset: int) -> None:
    """Land polls and what the stream meter published for them; the first of each lands twice (a retry)."""
    land_records(writer, TELEMETRY_GPU, 0, [*telemetry, telemetry[0]], first_offset)
    usage = metered_usage_records([(p, 0, first_offset + i) for i, p in enumerate(telemetry)])
    land_records(writer, BILLING_USAGE, 0, [*usage, usage[0]], first_offset)


def land_scenario(landing: Path) -> None:
    writer = LandingWriter(landing)
    land_polls(writer, polls(DAY.replace(hour=10), 90), first_offset=0)
    requests = [
        WorkloadRequest(
            event_id=f"request:{job}",
            event_time=DAY,
            job_id=job,
            customer_id=customer,
            gpu_type=gpu_type,
            gpu_count=1,
            priority=priority,
            preemptible=True,
            expected_duration_s=3600.0,
        )
        for job, (customer, gpu_type, priority) in JOBS.items()
    ]
    land_records(writer, WORKLOAD_REQUESTS, 0, requests)
    preemption = Decision(
        event_id="decision:preempt:j-2",
        event_time=DAY.replace(hour=12),
        decision_id="d-preempt-j-2",
        site_id="west-1",
        kind=DecisionKind.PREEMPTION,
        subject="j-2",
        interval_start=DAY.replace(hour=12),
        action="preempted",
        reason="room for a priority 9 job",
    )
    land_records(writer, DECISIONS, 0, [preemption])


def refresh_warehouse(landing: Path, warehouse: Path) -> None:
    load_landing(landing, warehouse, load_fleet())
    build_models(PROJECT_DIR, warehouse, select=USAGE_MARTS)


def query(warehouse: Path, sql: str) -> list[tuple]:
    conn = open_readonly(warehouse)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def bill(home: Path, period_id: str) -> dict:
    return bill_customers(
        period_id=period_id, warehouse_path=str(home / "warehouse.duckdb"), billing_dir=str(home / "billing"), now=NOW
    )


@pytest.fixture(scope="module", autouse=True)
def _no_pdf() -> None:
    """PDF printing takes seconds per invoice: the flow tests render HTML only (PDF has a test of its own)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("HCP_BILLING_PDF", "false")
    yield
    patch.undo()


@pytest.fixture(scope="module")
def billed_home(tmp_path_factory: pytest.TempPathFactory, prefect_test_server) -> tuple[Path, dict]:
    """A landed scenario, loaded and modelled, billed once for January 2023."""
    home = tmp_path_factory.mktemp("billing")
    land_scenario(home / "landing")
    refresh_warehouse(home / "landing", home / "warehouse.duckdb")
    return home, bill(home, "2023-01")


def copy_home(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def billing_state(home: Path) -> tuple:
    """Every billing row and every rendered file's digest: what a second run must leave alone."""
    warehouse = home / "warehouse.duckdb"
    rows = tuple(
        tuple(query(warehouse, f"select * from {table} order by all"))
        for table in ("billing.invoices", "billing.invoice_lines", "billing.closed_periods", "fct_invoice_lines")
    )
    files = {
        path.relative_to(home).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((home / "billing" / "invoices").rglob("*"))
        if path.is_file()
    }
    return rows, files


def test_every_customer_gets_a_closed_invoice_whose_total_is_its_priced_usage(billed_home):
    home, result = billed_home
    warehouse = home / "warehouse.duckdb"

    invoices = query(warehouse, "select customer_id, status, total_cents, lines_total_cents from fct_invoices")
    assert {row[0] for row in invoices} == {card.customer_id for card in load_rate_cards().rate_cards}
    assert all(status == "closed" and total == lines for _, status, total, lines in invoices)
    # usage lines hold exactly the warehouse's GPU-hours (each line to 6 places)
    [(billed_hours, metered_hours)] = query(
        warehouse,
        "select (select sum(quantity) from fct_invoice_lines where line_kind = 'usage'), "
        "(select sum(gpu_seconds) / 3600 from fct_gpu_usage_hourly)",
    )
    assert float(billed_hours) == pytest.approx(metered_hours, abs=1e-5)
    assert metered_hours == pytest.approx(3 * 90 / 60)  # three busy GPUs for 90 minutes, the retried poll once
    # blue-labs: 90 min of H100 best effort at 2.00 (volume tier 1), a 3.00 preemption credit capped at 15 %
    [(blue_lines,)] = query(
        warehouse,
        "select list(line_kind || ':' || amount_cents order by line_no) from fct_invoice_lines "
        "where customer_id = 'blue-labs'",
    )
    assert blue_lines == ["usage:300", "commitment_shortfall:49700", "preemption_credit:-45"]
    assert result["reconciliation"]["ok"] is True
    assert result["reconciliation"]["difference_usd"] == "0.00"
    assert {(d["invoice_id"], d["status"]) for d in result["documents"]} == {
        (f"INV-2023-01-{customer}", "closed") for customer, *_ in invoices
    }
    html = (home / "billing" / "invoices" / "2023-01" / "INV-2023-01-blue-labs.html").read_text()
    assert "Blue Labs GmbH" in html and "$499.55" in html


def test_billing_the_same_period_twice_changes_nothing(billed_home, tmp_path):
    home = copy_home(billed_home[0], tmp_path / "again")
    before = billing_state(home)

    result = bill(home, "2023-01")

    assert billing_state(home) == before
    assert sorted(result["already_closed"]) == sorted(billed_home[1]["priced"])
    assert result["stored"]["written"] == []
    same = [{k: v for k, v in d.items() if k != "html"} for d in billed_home[1]["documents"]]
    assert [{k: v for k, v in d.items() if k != "html"} for d in result["documents"]] == same


def test_late_usage_is_billed_as_adjustments_on_the_next_invoice_and_the_sent_one_stays(billed_home, tmp_path):
    home = copy_home(billed_home[0], tmp_path / "late")
    january_before = query(home / "warehouse.duckdb", "select * from billing.invoice_lines where period_id = '2023-01'")
    late = polls(datetime(2023, 1, 31, 23, 0, tzinfo=UTC), 30)  # arrives after January was invoiced
    land_polls(LandingWriter(home / "landing"), late, first_offset=1000)
    refresh_warehouse(home / "landing", home / "warehouse.duckdb")

    january = bill(home, "2023-01")
    february = bill(home, "2023-02")

    warehouse = home / "warehouse.duckdb"
    assert query(warehouse, "select * from billing.invoice_lines where period_id = '2023-01'") == january_before
    assert january["pending_adjustments"]["INV-2023-01-acme-ai"] >= 1
    adjustments = query(
        warehouse,
        "select customer_id, line_kind, quantity, amount_cents from fct_invoice_lines "
        "where invoice_id like 'INV-2023-02-%' and adjusts_period_id = '2023-01' and line_kind = 'usage' order by 1",
    )
    # 30 late minutes per busy GPU: acme H100 standard 2.40, blue H100 best effort 2.00, delta A100 premium 2.00
    assert [(c, float(q), cents) for c, _, q, cents in adjustments] == [
        ("acme-ai", 0.5, 120),
        ("blue-labs", 0.5, 100),
        ("delta-vision", 0.5, 100),
    ]
    assert february["reconciliation"]["ok"] is True


def test_an_invoice_prints_to_pdf_with_headless_chromium(billed_home, tmp_path):
    chromium = BillingSettings().chromium
    if not chromium.is_file():
        pytest.skip(f"no Chromium at {chromium} (apt-get install chromium)")
    html = billed_home[0] / "billing" / "invoices" / "2023-01" / "INV-2023-01-acme-ai.html"

    pdf = print_pdf(html, tmp_path / "invoice.pdf", chromium)

    assert pdf.read_bytes().startswith(b"%PDF-")
