"""`hcp backtest`: replay recorded price files through the curtailment policy of `hcp.policy`.

The shell reads files and writes results; every decision comes from `hcp.policy.step`, the same function the
live agent calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hcp.backtest.inputs import parse_month, read_fleet, read_hashprice, read_node_prices
from hcp.backtest.replay import MonthReplay, ScheduleValues, replay_month
from hcp.backtest.report import write_outputs
from hcp.policy import DEFAULT_POLICY, CurtailmentPolicy

__all__ = ["BacktestRequest", "MonthReplay", "ScheduleValues", "run_backtest"]


@dataclass(frozen=True)
class BacktestRequest:
    """The files and choices of one backtest run (the flags of `hcp backtest`)."""

    rt_prices: Path
    node: str
    hashprice: Path
    fleet: Path
    month: str
    out: Path
    da_prices: Path | None = None
    policy: CurtailmentPolicy = DEFAULT_POLICY


def run_backtest(request: BacktestRequest) -> tuple[MonthReplay, dict[str, object]]:
    """Read the files, replay the month, write `decisions.csv`, `summary.json` and `chart.png` into `out`."""
    year, month = parse_month(request.month)
    fleet = read_fleet(request.fleet)
    rt = read_node_prices(request.rt_prices, request.node, "real-time prices")
    da = read_node_prices(request.da_prices, request.node, "day-ahead prices") if request.da_prices else None
    hashprice = read_hashprice(request.hashprice)
    replay = replay_month(rt, da, hashprice, fleet, request.node, year, month, request.policy)
    summary = write_outputs(replay, request.policy, request.out)
    return replay, summary
