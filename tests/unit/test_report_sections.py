"""The daily report's sections on a warehouse without marts, and the HTML it renders from them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import polars as pl
import pytest

from hcp.reports.daily import render_html
from hcp.reports.sections import Section, read_sections

pytestmark = pytest.mark.unit

DAY = date(2023, 1, 16)


def test_every_section_says_which_table_is_missing_on_an_empty_warehouse():
    conn = duckdb.connect()

    sections = read_sections(conn, DAY)

    keys = [s.key for s in sections]
    assert keys == ["energy", "utilisation", "margins", "customers", "alerts", "capacity", "forecast"]
    for section in sections:
        assert not section.has_data
        assert section.note.startswith("no data: ") and "is not in the warehouse yet" in section.note


def test_html_escapes_values_and_embeds_charts_inline():
    customers = pl.DataFrame(
        {"customer_id": ["<script>x</script>"], "gpu_hours": [12.5], "energy_mwh": [0.01], "gpu_types": ["H100"],
         "top_priority": [9]}
    )
    sections = [Section("customers", "Top customers", customers), Section("alerts", "Alerts of the day", None, "none")]

    html = render_html(DAY, sections, generated_at=datetime(2026, 11, 27, tzinfo=UTC))

    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("src='data:image/png;base64,") == 1
    assert "Day 2023-01-16 (UTC)" in html
    assert "No profitability data for this day." in html
