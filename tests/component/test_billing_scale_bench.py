"""The billing-scale benchmark's synthetic month (bench.billing_month), in its tiny form: the landed records are
what the platform lands, and the warehouse and billing turn them into invoices equal to the generated usage
priced by the generated rate cards."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bench.billing_month import MonthPlan, write_month
from bench.billing_scale import expected_totals
from flows.billing import extract_billing_inputs, price_invoices
from hcp.billing.metering import metered_usage_records
from hcp.billing.ratecards import load_rate_cards
from hcp.fleet import load_fleet
from hcp.records import GpuTelemetry, MeteredUsage
from hcp.settings import WarehouseSettings
from hcp.topics import BILLING_USAGE, TELEMETRY_GPU, TOPICS
from warehouse.loader import load_landing
from warehouse.transform import build_models

pytestmark = pytest.mark.component

MONTH = "2023-01"
TINY = MonthPlan(customers=3, asics=20, gpus=10, month=MONTH, seed=11)  # two GPU nodes, 744 hours
USAGE_MARTS = ("+fct_gpu_usage_hourly", "+fct_metered_usage_hourly", "+fct_credit_events")


@pytest.fixture(scope="module")
def billed_month(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("billing-scale")
    month = write_month(TINY, home, progress=lambda _: None)
    warehouse = home / "warehouse.duckdb"
    load_landing(month.landing_dir, warehouse, load_fleet(month.fleet_file))
    build_models(WarehouseSettings().dbt_project_dir, warehouse, select=USAGE_MARTS)
    inputs = extract_billing_inputs.fn(str(warehouse), MONTH, str(home / "work"))
    priced = price_invoices.fn(inputs, str(month.rate_cards_file), MONTH, str(home / "work"))
    return month, inputs, priced


def landed(landing: Path, topic: str) -> list[tuple[int, int, str]]:
    return duckdb.sql(
        f"select partition, \"offset\", decode(value) from read_parquet('{landing}/{topic}/*/*.parquet') order by all"
    ).fetchall()


def test_every_landed_message_validates_with_its_topic_record_class(billed_month):
    month = billed_month[0]
    for topic in month.rows:
        messages = landed(month.landing_dir, topic)
        assert len(messages) == month.rows[topic] > 0, topic
        for _, _, value in messages:
            TOPICS[topic].record.model_validate_json(value)


def test_meter_messages_equal_what_the_stream_meter_publishes_for_the_same_polls(billed_month):
    month = billed_month[0]
    polls = [(GpuTelemetry.model_validate_json(v), p, o) for p, o, v in landed(month.landing_dir, TELEMETRY_GPU)]
    published = sorted(metered_usage_records(polls), key=lambda r: r.event_id)
    generated = sorted(
        (MeteredUsage.model_validate_json(v) for *_, v in landed(month.landing_dir, BILLING_USAGE)),
        key=lambda r: r.event_id,
    )
    assert [json.loads(r.to_json()) for r in generated] == [json.loads(r.to_json()) for r in published]


def test_warehouse_usage_equals_the_generated_usage(billed_month):
    month, inputs, _ = billed_month
    key = ["customer_id", "gpu_type", "priority", "site_id", "hour_start"]
    for name in ("usage", "metered_usage"):
        assert pl.read_parquet(inputs[name]).sort(key).equals(month.usage.sort(key)), name


def test_invoices_total_the_generated_usage_priced_by_the_rate_cards(billed_month):
    month, _, priced = billed_month
    expected = expected_totals(month.usage, month.credits, month.rate_cards_file, MONTH)

    billed = {invoice_id.removeprefix(f"INV-{MONTH}-"): cents for invoice_id, cents in priced["priced"].items()}

    assert billed == expected
    assert set(billed) == {card.customer_id for card in load_rate_cards(month.rate_cards_file).rate_cards}
    assert sum(billed.values()) > 0 and month.credits.height > 0
