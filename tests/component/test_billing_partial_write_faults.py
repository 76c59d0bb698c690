"""Fault 2i: a billing run that fails after a partial write, is retried, then re-run, leaves exactly what one clean
run leaves: the same `billing.*` rows and the same rendered files (HTML and PDF, by SHA-256).

The run is the billing flow's own tasks (`price_invoices`, `store_priced_invoices`, `render_invoices`, called
through `.fn`, no Prefect server) on a DuckDB warehouse in tmp_path, with usage metered by the pure core in place
of the dbt marts (the whole-flow runs are in test_billing_flow.py). PDFs are "printed" by a stand-in Chromium (a
script writing `%PDF-` plus the HTML), so a stale PDF would show as a different digest.

Faults: the store crashes after writing the invoices and their lines but before closing the period (the
`closed_periods` insert); then rendering crashes, either in the PDF printer on the second invoice or between
renaming an invoice's new PDF and its new HTML into place.
"""

from __future__ import annotations

import hashlib
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

import warehouse.billing_store as billing_store
from flows.billing import price_invoices, render_invoices, store_priced_invoices
from hcp.billing import render
from hcp.billing.invoices import CLOSED
from hcp.billing.metering import gpu_readings_frame, meter_gpu_seconds
from hcp.billing.periods import is_over, period_from_id
from hcp.billing.ratecards import load_rate_cards
from tests.integration.faults.conftest import report_figures
from warehouse.billing_reader import CREDIT_SCHEMA, read_invoices
from warehouse.billing_store import create_billing_tables
from warehouse.connection import open_readonly

from .test_billing_flow import DAY, NOW, polls

pytestmark = [pytest.mark.component, pytest.mark.fault]

PERIOD = "2023-01"
DRAFT_NOW = datetime(2023, 1, 20, tzinfo=UTC)  # January not over: its invoices stay drafts
FINAL_USAGE = meter_gpu_seconds(gpu_readings_frame(polls(DAY.replace(hour=10), 90)))
EARLY_USAGE = meter_gpu_seconds(gpu_readings_frame(polls(DAY.replace(hour=10), 45)))
CUSTOMERS = len(load_rate_cards().rate_cards)

FAKE_CHROMIUM = f"""#!{sys.executable}
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

target = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--print-to-pdf="))
source = Path(unquote(urlparse(sys.argv[-1]).path))
Path(target).write_bytes(b"%PDF-fake\\n" + source.read_bytes())
"""


class InjectedCrashError(RuntimeError):
    """The injected fault."""


class CrashAfterLinesConnection:
    """A DuckDB connection that crashes right after the invoice lines are inserted: invoices and lines are
    written, the period is not yet closed, the transaction not yet committed."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self._conn = conn
        self.crashed = False

    def execute(self, sql: str, *args: object) -> object:
        result = self._conn.execute(sql, *args)
        if "insert into billing.invoice_lines" in sql:
            self.crashed = True
            raise InjectedCrashError("billing store killed after writing invoice lines, before closing the period")
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


@pytest.fixture
def fake_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    chromium = tmp_path / "fake-chromium"
    chromium.write_text(FAKE_CHROMIUM)
    chromium.chmod(chromium.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("HCP_BILLING_PDF", "true")
    monkeypatch.setenv("HCP_BILLING_CHROMIUM", str(chromium))
    return chromium


def new_home(root: Path) -> Path:
    root.mkdir()
    conn = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        create_billing_tables(conn)
    finally:
        conn.close()
    return root


def write_inputs(home: Path, usage: pl.DataFrame) -> dict[str, str]:
    """What `extract_billing_inputs` would write, with usage from the pure meter instead of the dbt marts."""
    work = home / "billing" / "work" / PERIOD
    work.mkdir(parents=True, exist_ok=True)
    closed_headers, closed_lines = read_invoices(home / "warehouse.duckdb", status=CLOSED)
    frames = {
        "usage": usage,
        "credit_events": pl.DataFrame(schema=CREDIT_SCHEMA),
        "closed_invoices": closed_headers,
        "closed_lines": closed_lines,
    }
    paths = {name: str(work / f"{name}.parquet") for name in frames}
    for name, frame in frames.items():
        frame.write_parquet(paths[name])
    return paths


def price_and_store(home: Path, usage: pl.DataFrame, now: datetime) -> dict:
    work = str(home / "billing" / "work" / PERIOD)
    priced = price_invoices.fn(write_inputs(home, usage), None, PERIOD, work)
    close = is_over(period_from_id(PERIOD), now)
    return store_priced_invoices.fn(str(home / "warehouse.duckdb"), priced, close, now)


def render_all(home: Path) -> list[dict]:
    return render_invoices.fn(str(home / "warehouse.duckdb"), PERIOD, None, str(home / "billing" / "invoices" / PERIOD))


def bill(home: Path, usage: pl.DataFrame, now: datetime) -> None:
    """One billing run of the period: price, store, render (the flow's order)."""
    price_and_store(home, usage, now)
    render_all(home)


def billing_output(home: Path) -> dict[str, str]:
    """SHA-256 of every billing table's rows and of every file under the invoices folder (staging files too)."""
    conn = open_readonly(home / "warehouse.duckdb")
    try:
        tables = {
            table: hashlib.sha256(repr(conn.execute(f"select * from billing.{table} order by all").fetchall()).encode())
            for table in ("invoices", "invoice_lines", "closed_periods")
        }
    finally:
        conn.close()
    files = {
        path.relative_to(home).as_posix(): hashlib.sha256(path.read_bytes())
        for path in sorted((home / "billing" / "invoices").rglob("*"))
        if path.is_file()
    }
    return {name: digest.hexdigest() for name, digest in {**tables, **files}.items()}


def crash_store_after_lines(monkeypatch: pytest.MonkeyPatch) -> list[CrashAfterLinesConnection]:
    opened: list[CrashAfterLinesConnection] = []

    def connect(path: str, config: dict[str, str] | None = None) -> CrashAfterLinesConnection:
        opened.append(CrashAfterLinesConnection(duckdb.connect(path, config=config or {})))
        return opened[-1]

    monkeypatch.setattr(billing_store, "duckdb", SimpleNamespace(connect=connect, Error=duckdb.Error))
    return opened


def crash_printer_on_second_invoice(monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = render.print_pdf, []

    def print_pdf(*args: object, **kwargs: object) -> Path:
        calls.append(args)
        if len(calls) == 2:
            raise InjectedCrashError("PDF printer killed on the second invoice")
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "print_pdf", print_pdf)


def crash_between_pdf_and_html_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    real, crashed = Path.replace, []

    def replace(self: Path, target: Path) -> Path:
        if Path(target).suffix == ".html" and not crashed:
            crashed.append(target)
            raise InjectedCrashError(f"killed after the new PDF was renamed, before {Path(target).name}")
        return real(self, target)

    monkeypatch.setattr(Path, "replace", replace)


RENDER_FAULTS = {
    "printer_crash_on_second_invoice": crash_printer_on_second_invoice,
    "crash_between_pdf_and_html_rename": crash_between_pdf_and_html_rename,
}


@pytest.mark.parametrize("render_fault", sorted(RENDER_FAULTS))
def test_a_billing_run_failing_after_a_partial_write_then_retried_and_rerun_equals_one_clean_run(
    tmp_path, monkeypatch, fake_chromium, render_fault
):
    clean = new_home(tmp_path / "clean")
    bill(clean, FINAL_USAGE, NOW)
    expected = billing_output(clean)

    home = new_home(tmp_path / "faulty")
    bill(home, EARLY_USAGE, DRAFT_NOW)  # drafts (and their PDFs) from mid-January, replaced by the final run
    drafts = billing_output(home)
    started = time.perf_counter()
    with monkeypatch.context() as patch:
        opened = crash_store_after_lines(patch)
        with pytest.raises(InjectedCrashError):
            price_and_store(home, FINAL_USAGE, NOW)
    assert opened and opened[0].crashed
    assert billing_output(home) == drafts  # the half-written store was rolled back: the drafts stand

    stored = price_and_store(home, FINAL_USAGE, NOW)  # the retry of the store task
    with monkeypatch.context() as patch:
        RENDER_FAULTS[render_fault](patch)
        with pytest.raises(InjectedCrashError):
            render_all(home)
    half_rendered = billing_output(home)
    render_all(home)  # the retry of the render task
    recovery_s = time.perf_counter() - started
    bill(home, FINAL_USAGE, NOW)  # a later re-run of the whole period

    assert billing_output(home) == expected
    assert sorted(stored["closed"]) == sorted(f"INV-{PERIOD}-{c.customer_id}" for c in load_rate_cards().rate_cards)
    stale = sum(half_rendered.get(name) != digest for name, digest in expected.items())
    report_figures(
        "billing_partial_write",
        render_fault=render_fault,
        invoices=CUSTOMERS,
        outputs_compared=len(expected),
        outputs_differing_after_crash=stale,
        outputs_differing_after_retry_and_rerun=sum(billing_output(home).get(n) != d for n, d in expected.items()),
        recovery_s=round(recovery_s, 2),
    )


def test_a_crash_while_writing_an_invoice_file_leaves_the_old_file_whole_and_no_staging_file(tmp_path, monkeypatch):
    html_file = tmp_path / "INV-2023-01-acme-ai.html"
    html_file.write_text("<p>draft</p>")

    with monkeypatch.context() as patch:
        patch.setattr(Path, "replace", lambda self, target: (_ for _ in ()).throw(InjectedCrashError("killed")))
        with pytest.raises(InjectedCrashError):
            render.write_invoice_files("<p>final</p>", html_file)

    assert [p.name for p in tmp_path.iterdir()] == [html_file.name]
    assert html_file.read_text() == "<p>draft</p>"
    assert render.write_invoice_files("<p>final</p>", html_file) is True
    assert html_file.read_text() == "<p>final</p>"
    assert render.write_invoice_files("<p>final</p>", html_file) is False
