"""The daily report's charts: matplotlib figures rendered to base64 PNG, so the HTML needs no other file."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: charts are only ever written to bytes

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.figure import Figure

_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def to_base64_png(figure: Figure) -> str:
    """The figure as a base64 PNG (for an `<img src="data:image/png;base64,...">`), then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def energy_chart(frame: pl.DataFrame) -> str:
    """Price per site above, ASIC power per site in the middle, ASICs asleep below, hour by hour."""
    figure, (price, power, asleep) = plt.subplots(
        3, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [3, 3, 2]}
    )
    for colour, ((site,), rows) in zip(_COLOURS, frame.group_by("site_id", maintain_order=True), strict=False):
        hours = rows["hour_start"].to_list()
        price.plot(hours, rows["price_usd_mwh"].to_list(), color=colour, label=site)
        power.plot(hours, rows["asic_mw"].to_list(), color=colour, label=site)
        asleep.step(hours, rows["asics_asleep"].to_list(), color=colour, where="post", label=site)
    price.set_ylabel("real-time price\nUSD/MWh")
    power.set_ylabel("ASIC power\nMW (hourly mean)")
    asleep.set_ylabel("ASICs asleep\n(mean per interval)")
    asleep.set_xlabel("hour (UTC)")
    price.legend(loc="upper left", ncols=3, fontsize="small")
    for axis in (price, power, asleep):
        axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    return to_base64_png(figure)


def utilisation_chart(frame: pl.DataFrame) -> str:
    """Share of ASICs hashing, share of GPUs busy and mean GPU utilisation, hour by hour."""
    figure, axis = plt.subplots(figsize=(10, 3.6))
    for kind, column, label in (
        ("asic", "working_pct", "ASICs hashing (%)"),
        ("gpu", "working_pct", "GPUs running a job (%)"),
        ("gpu", "avg_utilisation_pct", "GPU utilisation (%)"),
    ):
        rows = frame.filter(pl.col("device_kind") == kind)
        if not rows.is_empty():
            axis.plot(rows["hour_start"].to_list(), rows[column].to_list(), label=label)
    axis.set_ylim(0, 105)
    axis.set_ylabel("%")
    axis.set_xlabel("hour (UTC)")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left", fontsize="small")
    figure.autofmt_xdate()
    return to_base64_png(figure)


def margins_chart(frame: pl.DataFrame) -> str:
    """Grouped bars per site: mining revenue, AI revenue, power cost, margin (USD)."""
    figure, axis = plt.subplots(figsize=(10, 3.6))
    sites = frame["site_id"].to_list()
    measures = (
        ("mining_revenue_usd", "mining revenue"),
        ("ai_revenue_usd", "AI revenue"),
        ("power_cost_usd", "power cost"),
        ("margin_usd", "margin"),
    )
    width = 0.2
    for index, (column, label) in enumerate(measures):
        values = [v or 0.0 for v in frame[column].to_list()]
        axis.bar([i + (index - 1.5) * width for i in range(len(sites))], values, width, label=label)
    axis.set_xticks(range(len(sites)), sites)
    axis.set_ylabel("USD")
    axis.axhline(0, color="black", linewidth=0.8)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize="small")
    return to_base64_png(figure)


def customers_chart(frame: pl.DataFrame) -> str:
    """GPU-hours per customer, largest on top."""
    figure, axis = plt.subplots(figsize=(10, 0.5 + 0.45 * len(frame)))
    rows = frame.reverse()
    axis.barh(rows["customer_id"].to_list(), rows["gpu_hours"].to_list(), color=_COLOURS[0])
    axis.set_xlabel("GPU-hours")
    axis.grid(axis="x", alpha=0.3)
    return to_base64_png(figure)


def series_chart(frame: pl.DataFrame, max_series: int = 4) -> str | None:
    """A line per numeric column against the first time column (for tables whose shape the report does not
    know in advance, such as the capacity plan and the price forecast); None if there is nothing to plot."""
    times = [c for c, t in frame.schema.items() if t.is_temporal()]
    numbers = [c for c, t in frame.schema.items() if t.is_numeric()][:max_series]
    if not times or not numbers:
        return None
    figure, axis = plt.subplots(figsize=(10, 3.2))
    ordered = frame.sort(times[0])
    for column in numbers:
        axis.plot(ordered[times[0]].to_list(), ordered[column].to_list(), label=column)
    axis.set_xlabel(times[0])
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.autofmt_xdate()
    return to_base64_png(figure)
