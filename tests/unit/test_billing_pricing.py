"""Pricing a period: tiers, commitment, credits, minimum charge; every total is the exact sum of its lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from hcp.billing.exceptions import RateCardError
from hcp.billing.lines import LineKind, to_cents
from hcp.billing.metering import USAGE_SCHEMA
from hcp.billing.pricing import price_period, tier_segments, usage_lines
from hcp.billing.ratecards import GpuPrice, RateCard

HOUR = datetime(2023, 1, 16, 10, tzinfo=UTC)


def card(**terms) -> RateCard:
    prices = terms.pop(
        "prices",
        [
            {
                "gpu_type": "H100",
                "priority_class": "standard",
                "tiers": [{"up_to_gpu_hours": "100", "usd_per_gpu_hour": "2.50"}, {"usd_per_gpu_hour": "2.00"}],
            },
            {"gpu_type": "H100", "priority_class": "best_effort", "tiers": [{"usd_per_gpu_hour": "1.00"}]},
        ],
    )
    return RateCard.model_validate({"customer_id": "acme-ai", "customer_name": "Acme", "prices": prices, **terms})


def usage(*rows: tuple[str, int, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "customer_id": "acme-ai",
                "gpu_type": t,
                "priority": p,
                "site_id": "west-1",
                "hour_start": HOUR,
                "gpu_seconds": s,
            }
            for t, p, s in rows
        ],
        schema=USAGE_SCHEMA,
    )


def test_graduated_tiers_bill_each_tiers_hours_at_its_price():
    lines = usage_lines(usage(("H100", 5, 150 * 3600.0)), card())

    assert [(line.tier, line.quantity, line.amount_cents) for line in lines] == [
        (1, Decimal("100.000000"), 25_000),
        (2, Decimal("50.000000"), 10_000),
    ]


def test_volume_tiers_bill_every_hour_at_the_tier_reached():
    lines = usage_lines(usage(("H100", 5, 150 * 3600.0)), card(tier_mode="volume"))

    assert [(line.tier, line.quantity, line.amount_cents) for line in lines] == [(2, Decimal("150.000000"), 30_000)]


def test_usage_exactly_at_a_tier_bound_stays_in_that_tier():
    price = GpuPrice.model_validate(
        {
            "gpu_type": "H100",
            "priority_class": "standard",
            "tiers": [{"up_to_gpu_hours": 1, "usd_per_gpu_hour": 2}, {"usd_per_gpu_hour": 1}],
        }
    )

    assert tier_segments(price, Decimal(3600), "graduated") == [(1, Decimal(3600), Decimal(2))]
    assert tier_segments(price, Decimal(3600), "volume") == [(1, Decimal(3600), Decimal(2))]


def test_priorities_are_priced_by_their_class_and_rounded_half_up_per_line():
    # 1 minute at 2.50/h is 4.1666.. cents -> 4; 3 minutes at 1.00/h is 5 cents exactly
    lines = usage_lines(usage(("H100", 5, 60.0), ("H100", 2, 180.0)), card())

    assert [(line.priority_class, line.amount_cents) for line in lines] == [("best_effort", 5), ("standard", 4)]
    assert to_cents(Decimal("0.125")) == 13


def test_commitment_shortfall_is_billed_when_usage_stays_below_it():
    lines = price_period(usage(("H100", 5, 10 * 3600.0)), [], card(committed_spend_usd="100.00"))

    assert [(line.line_kind, line.amount_cents) for line in lines] == [
        (LineKind.USAGE, 2_500),
        (LineKind.COMMITMENT_SHORTFALL, 7_500),
    ]


def test_usage_above_the_commitment_carries_the_overage_uplift():
    lines = price_period(
        usage(("H100", 5, 60 * 3600.0)), [], card(committed_spend_usd="100.00", overage_uplift_pct="10")
    )

    assert [(line.line_kind, line.amount_cents) for line in lines] == [
        (LineKind.USAGE, 15_000),
        (LineKind.OVERAGE, 500),
    ]


def test_credits_are_negative_and_capped_at_a_share_of_usage_cutting_the_sla_credit_first():
    terms = {"preemption_credit_usd": "3.00", "sla_credit_usd": "5.00", "credit_cap_pct": "10"}
    lines = price_period(usage(("H100", 5, 20 * 3600.0)), ["preemption", "sla_breach", "sla_breach"], card(**terms))

    # usage 50.00; credits 3 + 10 = 13.00 capped at 5.00: SLA cut to 2.00, preemption keeps 3.00
    assert [(line.line_kind, line.amount_cents) for line in lines] == [
        (LineKind.USAGE, 5_000),
        (LineKind.PREEMPTION_CREDIT, -300),
        (LineKind.SLA_CREDIT, -200),
    ]


def test_minimum_charge_tops_up_a_small_period_and_a_period_without_usage():
    small = price_period(usage(("H100", 2, 3600.0)), [], card(minimum_charge_usd="25.00"))
    empty = price_period(usage(), [], card(minimum_charge_usd="25.00"))

    assert [(line.line_kind, line.amount_cents) for line in small] == [
        (LineKind.USAGE, 100),
        (LineKind.MINIMUM_CHARGE, 2_400),
    ]
    assert sum(line.amount_cents for line in empty) == 2_500


def test_usage_of_a_gpu_type_without_a_price_is_refused_naming_it():
    with pytest.raises(RateCardError, match="no price for A100 in class standard"):
        usage_lines(usage(("A100", 5, 60.0)), card())
