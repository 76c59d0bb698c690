"""Rate card files: validated at load, with messages that say what to fix; a demo card for every demo customer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hcp.billing.exceptions import RateCardError
from hcp.billing.periods import PeriodError, month_period, parse_period, period_from_id
from hcp.billing.ratecards import load_rate_cards
from hcp.fleet import load_fleet


def test_demo_rate_cards_cover_every_demo_customer_and_gpu_type():
    book = load_rate_cards()
    fleet = load_fleet()

    gpu_types = {group.model for site in fleet.sites for group in site.gpus}
    for customer in fleet.customers:
        card = book.card_for(customer.customer_id)
        for gpu_type in gpu_types:
            for band in card.priority_classes:
                assert card.price(gpu_type, band.name).tiers


def write_card(tmp_path: Path, **changes) -> Path:
    entry = {
        "customer_id": "acme-ai",
        "customer_name": "Acme",
        "prices": [{"gpu_type": "H100", "priority_class": "standard", "tiers": [{"usd_per_gpu_hour": "2.00"}]}],
        **changes,
    }
    path = tmp_path / "cards.yaml"
    path.write_text(yaml.safe_dump({"rate_cards": [entry]}))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"priority_classes": [{"name": "all", "min_priority": 0, "max_priority": 8}]}, "cover priorities 0-9"),
        (
            {
                "prices": [
                    {
                        "gpu_type": "H100",
                        "priority_class": "standard",
                        "tiers": [{"usd_per_gpu_hour": "2"}, {"usd_per_gpu_hour": "1"}],
                    }
                ]
            },
            "only the last tier may be open",
        ),
        (
            {"prices": [{"gpu_type": "H100", "priority_class": "gold", "tiers": [{"usd_per_gpu_hour": "2"}]}]},
            "unknown priority_class",
        ),
        ({"credit_cap_pct": "150"}, "credit_cap_pct"),
    ],
)
def test_an_invalid_rate_card_is_refused_with_what_is_wrong(tmp_path, changes, message):
    with pytest.raises(RateCardError, match=message):
        load_rate_cards(write_card(tmp_path, **changes))


def test_a_customer_without_a_card_is_named(tmp_path):
    with pytest.raises(RateCardError, match="no rate card for customer 'zeta'"):
        load_rate_cards(write_card(tmp_path)).card_for("zeta")


def test_periods_read_months_and_day_spans_and_refuse_other_forms():
    assert month_period("2023-12").end.year == 2024
    assert parse_period(start="2023-01-16", end="2023-01-17").period_id == "2023-01-16..2023-01-17"
    assert period_from_id("2023-01-16..2023-01-17") == parse_period(start="2023-01-16", end="2023-01-17")
    with pytest.raises(PeriodError, match="YYYY-MM"):
        parse_period("January")
    with pytest.raises(PeriodError, match="not both"):
        parse_period("2023-01", start="2023-01-01")
