"""The billing flow: price a period's usage into invoices, store them, render them and reconcile the meters.

Tasks pass paths and return small summaries; the pure core (`hcp.billing`) does the arithmetic, the warehouse
package reads and stores. Only I/O tasks retry. Every task is idempotent for its period: a second run of the
same period with the same data writes the same rows and files, and a closed invoice is never touched again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.exceptions import MissingContextError

from flows.quality import require_quality_gate
from hcp.billing.exceptions import BillingError
from hcp.billing.invoices import CLOSED, build_invoices, invoice_frames, invoices_from_frames
from hcp.billing.lines import usd
from hcp.billing.periods import BillingPeriod, is_over, month_of, period_from_id
from hcp.billing.ratecards import load_rate_cards
from hcp.billing.reconciliation import reconcile_usage
from hcp.billing.render import render_invoice_html, write_invoice_files
from hcp.billing.settings import BillingSettings
from hcp.settings import StorageSettings, WarehouseSettings, load_settings
from warehouse.billing_reader import read_credit_events, read_invoices, read_latest_usage_hour, read_usage
from warehouse.billing_store import store_invoices
from warehouse.limits import WarehouseLimits
from warehouse.transform import build_models

INVOICE_MARTS = ("stg_billing__invoices+", "stg_billing__invoice_lines+", "stg_billing__closed_periods+")


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _path_or_none(path: Path | None) -> str | None:
    return str(path) if path else None


def latest_usage_period(warehouse_path: str) -> str:
    """The calendar month of the latest GPU usage in the warehouse."""
    latest = read_latest_usage_hour(Path(warehouse_path))
    if latest is None:
        raise BillingError(f"no GPU usage in {warehouse_path}: give the period to bill (--period YYYY-MM)")
    return month_of(latest).period_id


def _periods(*frames: pl.DataFrame) -> dict[str, BillingPeriod]:
    ids = {pid for frame in frames for pid in frame["period_id"].to_list()}
    return {pid: period_from_id(pid) for pid in ids}


@task(retries=2, retry_delay_seconds=2)
def extract_billing_inputs(warehouse_path: str, period_id: str, work_dir: str) -> dict[str, str]:
    """Usage (warehouse and stream meter), credit events and closed invoices up to the period's end, as Parquet."""
    period, out = period_from_id(period_id), Path(work_dir)
    out.mkdir(parents=True, exist_ok=True)
    warehouse = Path(warehouse_path)
    closed_headers, closed_lines = read_invoices(warehouse, status=CLOSED)
    frames = {
        "usage": read_usage(warehouse, period.end),
        "metered_usage": read_usage(warehouse, period.end, stream_meter=True),
        "credit_events": read_credit_events(warehouse, period.end),
        "closed_invoices": closed_headers,
        "closed_lines": closed_lines,
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = str(out / f"{name}.parquet")
        frame.write_parquet(paths[name])
    return paths


@task
def price_invoices(inputs: dict[str, str], rate_cards_file: str | None, period_id: str, work_dir: str) -> dict:
    """Invoices of the period for every customer with a rate card (drafts), as Parquet; closed ones are skipped."""
    period, book = period_from_id(period_id), load_rate_cards(Path(rate_cards_file) if rate_cards_file else None)
    closed_headers, closed_lines = pl.read_parquet(inputs["closed_invoices"]), pl.read_parquet(inputs["closed_lines"])
    closed = invoices_from_frames(closed_headers, closed_lines, _periods(closed_headers))
    run = build_invoices(
        pl.read_parquet(inputs["usage"]), pl.read_parquet(inputs["credit_events"]), book, period, closed
    )
    headers, lines = invoice_frames(run.invoices)
    out = Path(work_dir)
    headers.write_parquet(out / "invoices.parquet")
    lines.write_parquet(out / "invoice_lines.parquet")
    pending = {
        invoice_id: len(adjustments) for invoice_id, adjustments in run.pending_adjustments.items() if adjustments
    }
    for invoice_id, count in pending.items():
        _logger().warning("%s is closed; %d late change(s) wait for the next invoice", invoice_id, count)
    return {
        "invoices_file": str(out / "invoices.parquet"),
        "lines_file": str(out / "invoice_lines.parquet"),
        "priced": {i.invoice_id: i.total_cents for i in run.invoices},
        "already_closed": list(run.already_closed),
        "pending_adjustments": pending,
    }


@task(retries=2, retry_delay_seconds=2)
def store_priced_invoices(
    warehouse_path: str,
    priced: dict,
    close: bool,
    closed_at: datetime,
    memory_limit: str | None = None,
    temp_directory: str | None = None,
) -> dict:
    """Store the priced invoices (drafts replaced; with `close`, closed and entered in the manifest)."""
    limits = WarehouseLimits.from_parameters(memory_limit, temp_directory)
    summary = store_invoices(
        Path(warehouse_path), Path(priced["invoices_file"]), Path(priced["lines_file"]), close, closed_at, limits
    )
    return {
        "written": list(summary.written),
        "closed": list(summary.closed),
        "already_closed": list(summary.already_closed),
    }


@task
def build_invoice_marts(
    dbt_project_dir: str, warehouse_path: str, memory_limit: str | None = None, temp_directory: str | None = None
) -> dict:
    """`dbt build` of the billing staging models and the invoice marts (with their tests)."""
    limits = WarehouseLimits.from_parameters(memory_limit, temp_directory)
    summary = build_models(Path(dbt_project_dir), Path(warehouse_path), select=INVOICE_MARTS, limits=limits)
    return {"nodes": summary.nodes, "statuses": dict(summary.statuses)}


@task(retries=2, retry_delay_seconds=2)
def render_invoices(warehouse_path: str, period_id: str, rate_cards_file: str | None, out_dir: str) -> list[dict]:
    """Every stored invoice of the period as HTML (and PDF); a file whose content is unchanged is left alone.

    Returns one `{invoice_id, status, total_cents, html}` per stored invoice of the period.
    """
    settings = load_settings(BillingSettings)
    book = load_rate_cards(Path(rate_cards_file) if rate_cards_file else None)
    headers, lines = read_invoices(Path(warehouse_path), period_id=period_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for invoice in invoices_from_frames(headers, lines, _periods(headers)):
        html = render_invoice_html(
            invoice, book.card_for(invoice.customer_id), settings.issuer_name, settings.issuer_address
        )
        html_file, pdf_file = out / f"{invoice.invoice_id}.html", out / f"{invoice.invoice_id}.pdf"
        # write-then-rename, PDF before HTML: a crash leaves no torn or stale file (issue 6, fault 2i)
        printable = settings.pdf and settings.chromium.is_file()
        write_invoice_files(html, html_file, pdf_file if printable else None, settings.chromium, settings.pdf_timeout_s)
        written.append(
            {
                "invoice_id": invoice.invoice_id,
                "status": invoice.status,
                "total_cents": invoice.total_cents,
                "html": str(html_file),
            }
        )
    return written


@task
def reconcile_meters(inputs: dict[str, str], rate_cards_file: str | None, period_id: str, out_dir: str) -> dict:
    """Stream meter against warehouse usage, priced per line; every differing line and hour goes to CSV files."""
    period, book = period_from_id(period_id), load_rate_cards(Path(rate_cards_file) if rate_cards_file else None)
    result = reconcile_usage(pl.read_parquet(inputs["metered_usage"]), pl.read_parquet(inputs["usage"]), book, period)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines_file, hours_file = out / f"{period_id}-lines.csv", out / f"{period_id}-hours.csv"
    pl.DataFrame(
        [
            {
                "customer_id": line.customer_id,
                "line": line.description,
                "stream_gpu_hours": str(line.stream_gpu_hours),
                "warehouse_gpu_hours": str(line.warehouse_gpu_hours),
                "stream_usd": str(usd(line.stream_cents)),
                "warehouse_usd": str(usd(line.warehouse_cents)),
                "difference_usd": str(usd(line.difference_cents)),
            }
            for line in result.lines
        ],
        schema=dict.fromkeys(
            [
                "customer_id",
                "line",
                "stream_gpu_hours",
                "warehouse_gpu_hours",
                "stream_usd",
                "warehouse_usd",
                "difference_usd",
            ],
            pl.String(),
        ),
    ).write_csv(lines_file)
    result.hourly_differences.write_csv(hours_file)
    if not result.ok:
        _logger().error(
            "reconciliation of %s: %d line(s) and %d hour(s) differ by %s USD in all; first lines below, all in %s",
            period_id,
            len(result.differing_lines),
            result.hourly_differences.height,
            usd(result.difference_cents),
            lines_file,
        )
        for line in result.differing_lines[:10]:
            _logger().error(
                "reconciliation %s %s: stream %s USD, warehouse %s USD",
                line.customer_id,
                line.description,
                usd(line.stream_cents),
                usd(line.warehouse_cents),
            )
    return {**result.summary(), "lines_file": str(lines_file), "hours_file": str(hours_file)}


@flow(name="bill-customers")
def bill_customers(
    period_id: str | None = None,
    warehouse_path: str | None = None,
    billing_dir: str | None = None,
    rate_cards_file: str | None = None,
    draft: bool = False,
    now: datetime | None = None,
    dbt_project_dir: str | None = None,
) -> dict:
    """Invoice every customer with a rate card for `period_id` (`YYYY-MM` or `YYYY-MM-DD..YYYY-MM-DD`; default:
    the month of the latest usage in the warehouse). The warehouse and the billing folder default to the storage
    settings (`HCP_STORAGE_HOME`): `<home>/warehouse.duckdb` and `<home>/billing`; the rate cards to
    `HCP_BILLING_RATE_CARDS` or the demo cards.

    Invoices are closed (sent, never rewritten) when the period is over by `now` (default: the wall clock) and
    `draft` is false; otherwise they stay drafts that the next run replaces. Returns the invoices and totals,
    what was stored, the rendered files and the reconciliation summary (`reconciliation.ok`).
    """
    now = now or datetime.now(UTC)
    storage = load_settings(StorageSettings)
    warehouse_path = warehouse_path or str(storage.warehouse_path)
    billing_dir = billing_dir or str(storage.home / "billing")
    rate_cards_file = rate_cards_file or _path_or_none(load_settings(BillingSettings).rate_cards)
    period_id = period_id or latest_usage_period(warehouse_path)
    period = period_from_id(period_id)
    # The data-quality gate first: a bad landed batch stops billing before anything is read (flows/quality.py).
    require_quality_gate(warehouse_path)
    warehouse_settings = load_settings(WarehouseSettings)
    project_dir = dbt_project_dir or str(warehouse_settings.dbt_project_dir)
    limits = WarehouseLimits.from_settings(warehouse_settings).task_parameters()
    work_dir = str(Path(billing_dir) / "work" / period_id)
    inputs = extract_billing_inputs(warehouse_path, period_id, work_dir)
    priced = price_invoices(inputs, rate_cards_file, period_id, work_dir)
    close = not draft and is_over(period, now)
    stored = store_priced_invoices(warehouse_path, priced, close, now, **limits)
    marts = build_invoice_marts(project_dir, warehouse_path, **limits)
    documents = render_invoices(
        warehouse_path, period_id, rate_cards_file, str(Path(billing_dir) / "invoices" / period_id)
    )
    reconciliation = reconcile_meters(inputs, rate_cards_file, period_id, str(Path(billing_dir) / "reconciliation"))
    totals = dict(priced["priced"])
    create_table_artifact(
        key="billing-invoices",
        table=[{"invoice": invoice_id, "total_usd": str(usd(cents))} for invoice_id, cents in sorted(totals.items())],
        description=f"Invoices priced for {period_id} (closed: {close})",
    )
    return {
        "period_id": period_id,
        "closed": close,
        "priced": totals,
        "stored": stored,
        "dbt": marts,
        "documents": documents,
        "already_closed": priced["already_closed"],
        "pending_adjustments": priced["pending_adjustments"],
        "reconciliation": reconciliation,
    }
