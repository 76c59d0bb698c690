"""The demo's closing summary: what was simulated, landed, decided, used and earned, and where to look."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import duckdb
from rich.console import Console
from rich.table import Table

from hcp.ledger import check_ledger, read_ledger
from hcp.settings import StorageSettings


class SimulationResult(Protocol):
    events_by_topic: dict[str, int]
    ledger_path: object


def print_demo_summary(
    console: Console, storage: StorageSettings, simulation: SimulationResult, wall_seconds: float
) -> None:
    ledger = check_ledger(read_ledger(Path(str(simulation.ledger_path))), storage.landing_dir)
    with duckdb.connect(str(storage.warehouse_path), read_only=True) as con:
        devices = con.execute("select device_kind, count(*) from main.dim_devices group by 1 order by 1").fetchall()
        decisions = con.execute(
            "select count(*), count(command_id),"
            " count(*) filter (where decision_kind = 'power_mix' and run_fraction < 1),"
            " count(*) filter (where decision_kind = 'power_mix' and reason like 'making room%'),"
            " count(*) filter (where decision_kind = 'placement'),"
            " count(*) filter (where decision_kind = 'preemption')"
            " from main.fct_decisions"
        ).fetchall()[0]
        energy = con.execute(
            "select sum(total_mwh), sum(mining_revenue_usd), sum(power_cost_usd) from main.fct_site_energy_hourly"
        ).fetchall()[0]
        messages = con.execute(
            "select topic, sum(rows_inserted) from raw.loaded_files group by 1 order by 1"
        ).fetchall()

    table = Table("figure", "value", title="HCP demo summary", show_header=False)
    for kind, count in devices:
        table.add_row(f"{kind} devices seen", f"{count:,}")
    table.add_row("messages produced by simulators", f"{sum(simulation.events_by_topic.values()):,}")
    for topic, rows in messages:
        table.add_row(f"  landed in {topic}", f"{int(rows or 0):,}")
    table.add_row(
        "ledger check (lost / duplicated / altered)", f"{ledger.lost} / {ledger.duplicated} / {ledger.altered}"
    )
    total, with_command, curtailed, made_room, placed, preempted = decisions
    table.add_row("decisions (of which sent a command)", f"{total:,} ({with_command:,})")
    table.add_row("  miners curtailed for price (site x model x interval)", f"{curtailed:,}")
    table.add_row("  miners moved down to make room for AI jobs", f"{made_room:,}")
    table.add_row("  AI jobs placed / preempted", f"{placed:,} / {preempted:,}")
    mwh, revenue, cost = energy or (0.0, 0.0, 0.0)
    table.add_row("energy used", f"{(mwh or 0):,.2f} MWh")
    table.add_row("mining revenue", f"{(revenue or 0):,.2f} USD")
    table.add_row("power cost", f"{(cost or 0):,.2f} USD")
    table.add_row("wall time", f"{wall_seconds:,.0f} s")
    console.print(table)
    path = storage.warehouse_path.resolve()
    console.print(f"DuckDB warehouse: [bold]{path}[/]")
    console.print(
        "Query it: [bold]hcp sql \"select * from fct_site_energy_hourly limit 10\"[/] "
        f"(or duckdb.connect('{path}', read_only=True) in Python)"
    )
    home = f" --home {storage.home}" if storage.home.resolve() != Path(".hcp").resolve() else ""
    console.print(
        f"Next: [bold]hcp flows run billing{home}[/] (invoices), [bold]hcp flows run report{home}[/] (daily report),"
        f" [bold]hcp serve{home}[/] (Prefect UI with the scheduled flows), [bold]hcp status[/] (live view of a running"
        " platform)"
    )
    if not ledger.ok:
        console.print(
            f"[red]ledger check failed:[/] lost {ledger.lost_event_ids}, duplicated {ledger.duplicated_event_ids}"
        )
