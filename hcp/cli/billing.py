"""`hcp flows run billing`: invoice every customer for a period, render the invoices, reconcile the meters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.billing.lines import format_usd
from hcp.billing.periods import parse_period
from hcp.cli.context import storage_settings, use_local_prefect_home
from hcp.cli.options import HomeOption
from hcp.settings import StorageSettings

console = Console()

RateCardsOption = Annotated[
    Path | None,
    typer.Option(
        "--rate-cards",
        envvar="HCP_BILLING_RATE_CARDS",
        help="Rate card YAML (docs/billing.md); unset uses the demo cards, one per demo customer.",
    ),
]


def billing_dir(storage: StorageSettings) -> Path:
    """Where invoices (HTML, PDF), reconciliation reports and the flow's work files go."""
    return storage.home / "billing"


def run_billing(
    period: Annotated[
        str | None,
        typer.Option("--period", help="Calendar month to bill, YYYY-MM; default: the month of the latest usage."),
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day billed, YYYY-MM-DD (with --to).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="First day NOT billed, YYYY-MM-DD (with --from).")] = None,
    rate_cards: RateCardsOption = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Keep the invoices as drafts even if the period is over (not sent).")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Price the period's GPU usage into one invoice per customer, store it in the warehouse, render it (HTML,
    PDF) and reconcile the stream meter with the warehouse. Exits with 1 if the reconciliation finds a difference.

    A period that is over is closed (its invoices are sent and never rewritten); running again changes nothing.
    """
    storage = storage_settings(home)
    billed = parse_period(period, start, end) if period or start or end else None
    use_local_prefect_home(storage)
    from flows.billing import bill_customers

    result = bill_customers(
        period_id=billed.period_id if billed else None,
        warehouse_path=str(storage.warehouse_path),
        billing_dir=str(billing_dir(storage)),
        rate_cards_file=str(rate_cards) if rate_cards else None,
        draft=draft,
    )
    print_billing_result(result)
    if not result["reconciliation"]["ok"]:
        raise typer.Exit(1)


def print_billing_result(result: dict) -> None:
    table = Table("invoice", "total", "status", title=f"billing {result['period_id']}")
    for document in result["documents"]:
        invoice_id, status = document["invoice_id"], document["status"]
        if invoice_id in result["already_closed"]:
            pending = result["pending_adjustments"].get(invoice_id, 0)
            status = (
                f"closed earlier; {pending} late change(s) wait for the next invoice" if pending else "closed earlier"
            )
        table.add_row(invoice_id, format_usd(document["total_cents"]), status)
    console.print(table)
    if result["documents"]:
        console.print(f"invoices: [bold]{Path(result['documents'][0]['html']).parent}[/]")
    rec = result["reconciliation"]
    colour = "green" if rec["ok"] else "red"
    console.print(
        f"[{colour}]reconciliation[/]: stream meter {rec['stream_usd']} USD, warehouse {rec['warehouse_usd']} USD, "
        f"difference {rec['difference_usd']} USD over {rec['lines']} lines "
        f"({rec['differing_lines']} lines, {rec['differing_hours']} hours differ); report {rec['lines_file']}"
    )
