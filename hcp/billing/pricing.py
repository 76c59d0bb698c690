"""Pricing one customer's period: usage lines by tier, then commitment, credits and the minimum charge.

Order of the lines and of the arithmetic (each line rounded to the cent on its own; the total is their sum):
1. usage: per GPU type and priority class, the period's GPU-seconds split over the price tiers (graduated) or
   all at the tier reached (volume); amount = seconds x price / 3600;
2. commitment: usage charges below `committed_spend_usd` add a shortfall line; above it, an overage line of
   `overage_uplift_pct` of the excess;
3. credits (negative): `preemption_credit_usd` per preempted job and `sla_credit_usd` per missed SLA, together
   at most `credit_cap_pct` of the usage charges (the SLA credit is cut first, then the preemption credit);
4. minimum charge: if the sum so far is below `minimum_charge_usd`, a line tops it up.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import polars as pl

from hcp.billing.lines import SECONDS_PER_HOUR, InvoiceLine, LineKind, gpu_hours, seconds_decimal, to_cents, usd
from hcp.billing.ratecards import GpuPrice, RateCard


def class_seconds(usage: pl.DataFrame, card: RateCard) -> dict[tuple[str, str], Decimal]:
    """The period's GPU-seconds per (GPU type, priority class) of `card`, from metered usage rows."""
    totals: dict[tuple[str, str], Decimal] = {}
    by_type_priority = usage.group_by(["gpu_type", "priority"]).agg(pl.col("gpu_seconds").sum())
    for gpu_type, priority, seconds in by_type_priority.iter_rows():
        key = (gpu_type, card.priority_class(int(priority)))
        totals[key] = totals.get(key, Decimal(0)) + seconds_decimal(seconds)
    return totals


def tier_segments(price: GpuPrice, seconds: Decimal, mode: str) -> list[tuple[int, Decimal, Decimal]]:
    """(tier number from 1, GPU-seconds, USD per GPU-hour) for `seconds` of usage under `price`'s tiers."""
    lower = Decimal(0)
    segments: list[tuple[int, Decimal, Decimal]] = []
    for number, tier in enumerate(price.tiers, start=1):
        upper = None if tier.up_to_gpu_hours is None else tier.up_to_gpu_hours * SECONDS_PER_HOUR
        if mode == "volume":
            if upper is None or seconds <= upper:
                return [(number, seconds, tier.usd_per_gpu_hour)]
            continue
        portion = seconds - lower if upper is None else min(seconds, upper) - lower
        if portion > 0:
            segments.append((number, portion, tier.usd_per_gpu_hour))
        if upper is None or seconds <= upper:
            break
        lower = upper
    return segments


def usage_lines(usage: pl.DataFrame, card: RateCard) -> list[InvoiceLine]:
    """Usage lines, ordered by GPU type, class and tier; none for a GPU type and class without usage."""
    lines = []
    order = {band.name: band.min_priority for band in card.priority_classes}
    totals = class_seconds(usage, card)
    for gpu_type, class_name in sorted(totals, key=lambda key: (key[0], order[key[1]])):
        seconds = totals[(gpu_type, class_name)]
        price = card.price(gpu_type, class_name)
        tiers = len(price.tiers)
        for number, portion, unit_price in tier_segments(price, seconds, card.tier_mode):
            tier_text = f", tier {number} of {tiers}" if tiers > 1 else ""
            lines.append(
                InvoiceLine(
                    line_kind=LineKind.USAGE,
                    description=f"{gpu_type} GPU-hours, {class_name.replace('_', ' ')}{tier_text}",
                    amount_cents=to_cents(portion * unit_price / SECONDS_PER_HOUR),
                    quantity=gpu_hours(portion),
                    unit="GPU-hour",
                    unit_price_usd=unit_price,
                    gpu_type=gpu_type,
                    priority_class=class_name,
                    tier=number,
                )
            )
    return lines


def commitment_lines(usage_cents: int, card: RateCard) -> list[InvoiceLine]:
    if card.committed_spend_usd is None:
        return []
    committed = to_cents(card.committed_spend_usd)
    if usage_cents < committed:
        return [
            InvoiceLine(
                LineKind.COMMITMENT_SHORTFALL,
                f"Committed spend {usd(committed)} USD, usage {usd(usage_cents)} USD",
                committed - usage_cents,
            )
        ]
    excess = usage_cents - committed
    if excess > 0 and card.overage_uplift_pct > 0:
        return [
            InvoiceLine(
                LineKind.OVERAGE,
                f"Overage uplift {card.overage_uplift_pct}% on {usd(excess)} USD above the commitment",
                to_cents(Decimal(excess) * card.overage_uplift_pct / 10_000),
                quantity=usd(excess),
                unit="USD",
                unit_price_usd=card.overage_uplift_pct / 100,
            )
        ]
    return []


def credit_lines(preemptions: int, sla_misses: int, usage_cents: int, card: RateCard) -> list[InvoiceLine]:
    """Negative lines for preempted jobs and missed SLAs, capped together at `credit_cap_pct` of usage."""
    cap = to_cents(Decimal(usage_cents) * card.credit_cap_pct / 10_000)
    preemption = preemptions * to_cents(card.preemption_credit_usd)
    sla = sla_misses * to_cents(card.sla_credit_usd)
    over = max(0, preemption + sla - cap)
    sla_cut = min(sla, over)
    sla, preemption = sla - sla_cut, preemption - (over - sla_cut)
    capped = f" (credits capped at {card.credit_cap_pct}% of usage)" if over else ""
    lines = []
    if preemptions and card.preemption_credit_usd:
        lines.append(
            InvoiceLine(
                LineKind.PREEMPTION_CREDIT,
                f"Credit for {preemptions} preempted job(s){capped}",
                -preemption,
                quantity=Decimal(preemptions),
                unit="job",
                unit_price_usd=-card.preemption_credit_usd,
            )
        )
    if sla_misses and card.sla_credit_usd:
        lines.append(
            InvoiceLine(
                LineKind.SLA_CREDIT,
                f"Credit for {sla_misses} missed SLA(s){capped}",
                -sla,
                quantity=Decimal(sla_misses),
                unit="SLA miss",
                unit_price_usd=-card.sla_credit_usd,
            )
        )
    return lines


def minimum_charge_lines(subtotal_cents: int, card: RateCard) -> list[InvoiceLine]:
    minimum = to_cents(card.minimum_charge_usd)
    if subtotal_cents >= minimum:
        return []
    return [
        InvoiceLine(
            LineKind.MINIMUM_CHARGE,
            f"Minimum charge {usd(minimum)} USD for the period",
            minimum - subtotal_cents,
        )
    ]


def price_period(usage: pl.DataFrame, credit_events: Iterable[str], card: RateCard) -> list[InvoiceLine]:
    """Every charge line of one customer's period: `usage` holds only that customer's metered rows of the
    period and `credit_events` the kinds ('preemption', 'sla_breach') of its credit events in the period."""
    lines = usage_lines(usage, card)
    usage_cents = sum(line.amount_cents for line in lines)
    lines += commitment_lines(usage_cents, card)
    kinds = list(credit_events)
    lines += credit_lines(kinds.count("preemption"), kinds.count("sla_breach"), usage_cents, card)
    lines += minimum_charge_lines(sum(line.amount_cents for line in lines), card)
    return lines
