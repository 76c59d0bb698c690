"""`hcp backtest`: replay recorded real-time prices through the curtailment policy and value it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hcp.backtest import BacktestRequest, MonthReplay, ScheduleValues, run_backtest

console = Console()


def backtest(
    rt_prices: Annotated[
        Path, typer.Option("--rt-prices", help="ERCOT wide real-time CSV (datetime_col = interval start).")
    ],
    node: Annotated[str, typer.Option("--node", help="Settlement point column to replay, e.g. HB_WEST.")],
    hashprice: Annotated[Path, typer.Option("--hashprice", help="CSV with columns date,hashprice_usd_per_ph_day.")],
    fleet: Annotated[
        Path, typer.Option("--fleet", help="YAML with asic_models: [{name, count, hashrate_th, power_w}].")
    ],
    month: Annotated[str, typer.Option("--month", help="Month to replay, YYYY-MM.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for decisions.csv, summary.json and chart.png.")],
    da_prices: Annotated[
        Path | None,
        typer.Option("--da-prices", help="ERCOT wide day-ahead CSV (datetime_col = hour ending); optional."),
    ] = None,
) -> None:
    """Replay one month at one node: the policy against always-on, hindsight, lag-1 and hysteresis."""
    request = BacktestRequest(
        rt_prices=rt_prices, node=node, hashprice=hashprice, fleet=fleet, month=month, out=out, da_prices=da_prices
    )
    replay, _ = run_backtest(request)
    console.print(build_table(replay), width=max(console.width, 110))
    console.print(f"wrote {out / 'decisions.csv'}, {out / 'summary.json'} and {out / 'chart.png'}")


def build_table(replay: MonthReplay) -> Table:
    """The summary as a rich table: one row per model and a total."""
    table = Table(title=f"backtest {replay.node} {replay.month} ({replay.intervals.height} intervals), USD")
    for column in ("model", "always on", "hindsight", "policy", "lag-1", "hysteresis", "of optimal", "of gain"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for model in replay.models:
        table.add_row(model.group.name, *_cells(model.values))
    table.add_row("total", *_cells(replay.total), style="bold")
    return table


def _cells(values: ScheduleValues) -> list[str]:
    money = [values.always_on_usd, values.hindsight_usd, values.policy_usd, values.lag1_usd, values.hysteresis_usd]
    shares = [values.share_of_optimal, values.share_of_gain]
    return [f"{v:,.0f}" for v in money] + ["n/a" if s is None else f"{s:.2%}" for s in shares]


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
