"""Drawing a `StatusBoard` with rich: one frame, the same for the live view and `--once`."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from hcp.records import Severity
from hcp.status.board import StatusBoard

SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def sites_table(board: StatusBoard) -> Table:
    table = Table(title="sites", title_justify="left", expand=True)
    for column in ("site", "power / cap MW", "use", "ASICs on", "curtailed", "GPUs on", "busy", "offline",
                   "RT price USD/MWh"):
        table.add_column(column, justify="left" if column == "site" else "right")
    for row in board.site_rows():
        share = row["power_mw"] / row["cap_mw"]  # type: ignore[operator]
        style = "bold red" if share > 1 else "yellow" if share > 0.95 else "green"
        table.add_row(str(row["site"]), f"{row['power_mw']:.3f} / {row['cap_mw']:.2f}", Text(f"{share:.0%}", style),
                      str(row["asic_online"]), str(row["asic_curtailed"]), str(row["gpu_online"]),
                      str(row["gpu_busy"]), str(row["offline"]), f"{_price(row['price'])} ({row['node']})")  # type: ignore[arg-type]
    return table


def market_table(board: StatusBoard) -> Table:
    table = Table(title=f"market: hashprice {_price(board.hashprice)} USD/PH/day", title_justify="left", expand=True)
    table.add_column("ASIC model")
    table.add_column("breakeven USD/MWh", justify="right")
    for node in sorted(board.energy_rt):
        table.add_column(node, justify="right")
    for model, breakeven in board.breakevens().items():
        cells = [Text("mine" if price < breakeven else "curtail", "green" if price < breakeven else "red")
                 for price in (p for _, p in sorted(board.energy_rt.items()))]
        table.add_row(model, f"{breakeven:,.2f}", *cells)
    return table


def decisions_table(board: StatusBoard) -> Table:
    table = Table(title="last decisions", title_justify="left", expand=True)
    for column, width in (("time", 8), ("site", 7), ("kind", 10), ("subject", 12), ("action", 10)):
        table.add_column(column, overflow="ellipsis", no_wrap=True, min_width=width)
    table.add_column("reason", overflow="ellipsis", no_wrap=True, ratio=1)
    for d in reversed(board.decisions):
        table.add_row(f"{d.event_time:%H:%M:%S}", d.site_id, d.kind.value, d.subject, d.action, d.reason)
    return table


def queue_table(board: StatusBoard) -> Table:
    table = Table(title=f"job queue: {len(board.queued)} waiting", title_justify="left", expand=True)
    table.add_column("priority", justify="right")
    table.add_column("jobs", justify="right")
    for priority, count in board.queue_by_priority().items():
        table.add_row("?" if priority < 0 else str(priority), str(count))
    return table


def alerts_table(board: StatusBoard, limit: int = 10) -> Table:
    open_alerts = sorted(board.alerts.values(), key=lambda a: (a.severity != Severity.CRITICAL, a.event_time))
    table = Table(title=f"active alerts: {len(open_alerts)}", title_justify="left", expand=True)
    for column in ("since", "severity", "rule", "site", "message"):
        table.add_column(column, overflow="ellipsis", no_wrap=True)
    for a in open_alerts[:limit]:
        table.add_row(f"{a.event_time:%H:%M:%S}", Text(a.severity.value, SEVERITY_STYLE[a.severity]), a.rule,
                      a.site_id or "-", a.message)
    if len(open_alerts) > limit:
        table.add_row("", "", f"... {len(open_alerts) - limit} more", "", "")
    return table


def render_board(board: StatusBoard, source: str) -> RenderableType:
    clock = f"{board.clock:%Y-%m-%d %H:%M:%S %Z}" if board.clock else "no data yet"
    header = Text.assemble(("HCP status", "bold"), f"  {source}  event time {clock}  records read {board.records:,}")
    return Group(header, sites_table(board), market_table(board), queue_table(board), decisions_table(board),
                 alerts_table(board))
