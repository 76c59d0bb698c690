"""Invoices per customer and period; late data becomes adjustment lines on the next invoice, never a rewrite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import polars as pl
import pytest

from hcp.billing.exceptions import RateCardError
from hcp.billing.invoices import CLOSED, build_invoices, invoice_frames, invoices_from_frames
from hcp.billing.metering import USAGE_SCHEMA
from hcp.billing.periods import month_period
from hcp.billing.ratecards import load_rate_cards

JAN, FEB = month_period("2023-01"), month_period("2023-02")
BOOK = load_rate_cards()
NO_CREDITS = pl.DataFrame(
    schema={"customer_id": pl.String, "credit_kind": pl.String, "decided_at": pl.Datetime("us", "UTC")}
)


def usage(*rows: tuple[str, str, int, datetime, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"customer_id": c, "gpu_type": t, "priority": p, "site_id": "west-1", "hour_start": h, "gpu_seconds": s}
            for c, t, p, h, s in rows
        ],
        schema=USAGE_SCHEMA,
    )


JAN_USAGE = usage(
    ("acme-ai", "H100", 5, datetime(2023, 1, 16, 10, tzinfo=UTC), 900 * 3600.0),
    ("corvid-research", "A100", 8, datetime(2023, 1, 16, 10, tzinfo=UTC), 7200.0),
)
LATE = usage(("acme-ai", "H100", 5, datetime(2023, 1, 31, 23, tzinfo=UTC), 3600.0))


def close(invoices) -> list:
    """Closed invoices as they come back from storage."""
    headers, lines = invoice_frames([replace(i, status=CLOSED) for i in invoices])
    return invoices_from_frames(headers, lines, {JAN.period_id: JAN, FEB.period_id: FEB})


def test_every_customer_with_a_rate_card_gets_an_invoice_whose_total_is_its_lines():
    run = build_invoices(JAN_USAGE, NO_CREDITS, BOOK, JAN)

    assert {i.customer_id for i in run.invoices} == {card.customer_id for card in BOOK.rate_cards}
    for invoice in run.invoices:
        assert invoice.total_cents == sum(line.amount_cents for line in invoice.lines)
    acme = next(i for i in run.invoices if i.customer_id == "acme-ai")
    # 500 h at 2.40 + 400 h at 2.10 (graduated), above the 2,000 USD commitment
    assert acme.total_cents == 120_000 + 84_000


def test_usage_of_a_customer_without_a_rate_card_stops_billing_naming_it():
    stranger = usage(("zeta-ai", "H100", 5, datetime(2023, 1, 16, tzinfo=UTC), 60.0))

    with pytest.raises(RateCardError, match="zeta-ai"):
        build_invoices(stranger, NO_CREDITS, BOOK, JAN)


def test_late_usage_for_a_closed_period_is_an_adjustment_on_the_next_invoice():
    closed = close(build_invoices(JAN_USAGE, NO_CREDITS, BOOK, JAN).invoices)
    everything = pl.concat([JAN_USAGE, LATE])

    january_again = build_invoices(everything, NO_CREDITS, BOOK, JAN, closed)
    february = build_invoices(everything, NO_CREDITS, BOOK, FEB, closed)

    assert january_again.invoices == ()  # a closed invoice is never produced again
    assert len(january_again.pending_adjustments["INV-2023-01-acme-ai"]) == 1
    acme = next(i for i in february.invoices if i.customer_id == "acme-ai")
    [adjustment] = [line for line in acme.lines if line.is_adjustment]
    assert adjustment.adjusts_period_id == "2023-01"
    assert (adjustment.tier, adjustment.amount_cents) == (2, 210)  # one more hour in tier 2 at 2.10


def test_late_usage_under_a_minimum_charge_adjusts_usage_and_minimum_to_a_net_zero():
    closed = close(build_invoices(JAN_USAGE, NO_CREDITS, BOOK, JAN).invoices)
    late = usage(("corvid-research", "A100", 8, datetime(2023, 1, 31, tzinfo=UTC), 3600.0))

    february = build_invoices(pl.concat([JAN_USAGE, late]), NO_CREDITS, BOOK, FEB, closed)

    corvid = next(i for i in february.invoices if i.customer_id == "corvid-research")
    adjustments = [(str(line.line_kind), line.amount_cents) for line in corvid.lines if line.is_adjustment]
    assert adjustments == [("usage", 195), ("minimum_charge", -195)]


def test_adjustments_already_billed_are_not_billed_again():
    closed_jan = close(build_invoices(JAN_USAGE, NO_CREDITS, BOOK, JAN).invoices)
    everything = pl.concat([JAN_USAGE, LATE])
    closed_feb = close(build_invoices(everything, NO_CREDITS, BOOK, FEB, closed_jan).invoices)

    march = build_invoices(everything, NO_CREDITS, BOOK, month_period("2023-03"), [*closed_jan, *closed_feb])

    assert all(not line.is_adjustment for invoice in march.invoices for line in invoice.lines)


def test_no_late_data_means_no_adjustment_lines():
    closed = close(build_invoices(JAN_USAGE, NO_CREDITS, BOOK, JAN).invoices)

    february = build_invoices(JAN_USAGE, NO_CREDITS, BOOK, FEB, closed)

    assert all(not line.is_adjustment for invoice in february.invoices for line in invoice.lines)


def test_stored_invoices_read_back_with_the_same_fingerprint():
    invoices = build_invoices(JAN_USAGE, NO_CREDITS, BOOK, JAN).invoices

    back = close(invoices)

    assert [i.content_sha256 for i in back] == [i.content_sha256 for i in sorted(invoices, key=lambda i: i.invoice_id)]
