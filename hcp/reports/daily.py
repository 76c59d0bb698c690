"""The daily operations and finance report: sections from the warehouse, charts, one self-contained HTML file.

`build_daily_report` opens the warehouse read-only, reads every section for the day, renders the HTML (charts
embedded as base64 PNG, no external file or script) and writes `<reports dir>/daily-<day>.html`, replacing an
earlier report of the same day: running it twice for a day gives the same file (apart from its generation time).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from hcp.reports import charts
from hcp.reports.sections import Section, latest_complete_day, read_sections
from warehouse.connection import open_readonly

_CHARTS = {
    "energy": charts.energy_chart,
    "utilisation": charts.utilisation_chart,
    "margins": charts.margins_chart,
    "customers": charts.customers_chart,
}
_TABLE_ROWS = {"energy": 0, "utilisation": 0, "margins": 20, "customers": 10, "alerts": 30}
_PREVIEW_ROWS = 24
# Wide planning tables: the columns a reader needs, in the table and (summed per hour over sites) in the chart.
_TABLE_COLUMNS = {
    "capacity": ("site_id", "hour_start", "price_forecast_usd_mwh", "gpu_hours_forecast", "gpu_capacity",
                 "recommended_gpu_mw", "recommended_asic_mw", "mining", "expected_margin_usd"),
    "forecast": ("node", "hour_start", "price_usd_mwh", "forecast_origin", "model"),
}
_CHART_SERIES = {
    "capacity": ("recommended_gpu_mw", "recommended_asic_mw"),
    "forecast": ("price_usd_mwh",),
}


@dataclass(frozen=True)
class DailyReport:
    """What `build_daily_report` wrote: the file, the day and which sections had data."""

    path: Path
    day: date
    sections: dict[str, bool]

    @property
    def empty_sections(self) -> list[str]:
        return [key for key, has_data in self.sections.items() if not has_data]


def report_path(reports_dir: Path, day: date) -> Path:
    return reports_dir / f"daily-{day.isoformat()}.html"


def resolve_day(warehouse_path: Path, day: date | None) -> date:
    """`day`, or the latest complete day the warehouse holds (for scheduled runs that pass none)."""
    if day is not None:
        return day
    conn = open_readonly(warehouse_path)
    try:
        latest = latest_complete_day(conn)
    finally:
        conn.close()
    return latest or datetime.now(UTC).date()


def build_daily_report(warehouse_path: Path, reports_dir: Path, day: date) -> DailyReport:
    """Read the warehouse (read-only) and write the day's HTML report; returns where and what it holds."""
    conn = open_readonly(warehouse_path)
    try:
        sections = read_sections(conn, day)
    finally:
        conn.close()
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = report_path(reports_dir, day)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(day, sections, generated_at=datetime.now(UTC)), encoding="utf-8")
    tmp.replace(path)
    return DailyReport(path=path, day=day, sections={s.key: s.has_data for s in sections})


def render_html(day: date, sections: list[Section], generated_at: datetime) -> str:
    """The whole report as one HTML document."""
    body = "\n".join(_render_section(section) for section in sections)
    summary = _headline(sections)
    return _PAGE.format(
        day=day.isoformat(),
        generated=generated_at.isoformat(timespec="seconds"),
        summary=summary,
        body=body,
    )


def _headline(sections: list[Section]) -> str:
    margins = next((s for s in sections if s.key == "margins" and s.has_data), None)
    if margins is None:
        return "<p class='note'>No profitability data for this day.</p>"
    columns = ("mining_revenue_usd", "ai_revenue_usd", "power_cost_usd")
    totals = {c: margins.frame[c].fill_null(0).sum() for c in columns}
    margin = totals["mining_revenue_usd"] + totals["ai_revenue_usd"] - totals["power_cost_usd"]
    cells = "".join(
        f"<div class='kpi'><span>{label}</span><b>{value:,.2f} USD</b></div>"
        for label, value in (
            ("mining revenue", totals["mining_revenue_usd"]),
            ("AI revenue", totals["ai_revenue_usd"]),
            ("power cost", totals["power_cost_usd"]),
            ("margin", margin),
        )
    )
    return f"<div class='kpis'>{cells}</div>"


def _render_section(section: Section) -> str:
    parts = [f"<section id='{section.key}'><h2>{html.escape(section.title)}</h2>"]
    if section.note:
        parts.append(f"<p class='note'>{html.escape(section.note)}</p>")
    if section.has_data:
        chart = _chart(section)
        if chart:
            parts.append(f"<img alt='{html.escape(section.title)}' src='data:image/png;base64,{chart}'>")
        rows = _TABLE_ROWS.get(section.key, _PREVIEW_ROWS)
        if rows:
            parts.append(_table(_columns(section.frame, _TABLE_COLUMNS.get(section.key)).head(rows)))
    parts.append("</section>")
    return "\n".join(parts)


def _chart(section: Section) -> str | None:
    builder = _CHARTS.get(section.key)
    if builder:
        return builder(section.frame)
    series = [c for c in _CHART_SERIES.get(section.key, ()) if c in section.frame.columns]
    if series and "hour_start" in section.frame.columns:
        # one line per series: summed over sites (the plan) or averaged over nodes (the forecast) per hour
        how = pl.sum if section.key == "capacity" else pl.mean
        hourly = section.frame.group_by("hour_start").agg(*(how(c) for c in series))
        return charts.series_chart(hourly)
    return charts.series_chart(section.frame)


def _columns(frame: pl.DataFrame, wanted: tuple[str, ...] | None) -> pl.DataFrame:
    """`frame` cut to the `wanted` columns it has (all of them when none are named or none exist)."""
    present = [c for c in wanted or () if c in frame.columns]
    return frame.select(present) if present else frame


def _table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>HCP daily report {day}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
 h1 {{ margin-bottom: 0; }} .sub {{ color: #666; margin-top: .2rem; }}
 section {{ margin-top: 2rem; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; }}
 img {{ max-width: 100%; }} .note {{ color: #8a6d3b; background: #fcf8e3; padding: .4rem .6rem; }}
 table {{ border-collapse: collapse; font-size: .85rem; margin-top: .6rem; }}
 th, td {{ border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }} th {{ background: #f5f5f5; }}
 td:first-child, th:first-child {{ text-align: left; }}
 .kpis {{ display: flex; gap: 1rem; margin-top: 1rem; }}
 .kpi {{ border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; }}
 .kpi span {{ display: block; color: #666; font-size: .8rem; }}
</style></head>
<body>
<h1>HCP daily operations and finance report</h1>
<p class="sub">Day {day} (UTC) &middot; generated {generated}</p>
{summary}
{body}
</body></html>
"""
